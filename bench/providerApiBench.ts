// Provider API figures through the local host (Azurite, simulator): how long pods take from PUT to
// their deployment on the hub, and what the adapter's poll of a node's pod list costs, full (200)
// and unchanged (304).   npm run bench:provider [-- --pods 50 --polls 300]
import { parseArgs } from "node:util";
import type { NodePodsResponse } from "../lib/provider/providerContract.js";
import { podFixture } from "../test/provider/providerFixtures.js";
import { hub, node, startAppHarness } from "../test/app/appHarness.js";

const { values } = parseArgs({ options: { pods: { type: "string" }, polls: { type: "string" } } });
const podCount = Number(values.pods ?? "50");
const polls = Number(values.polls ?? "300");
if (!Number.isInteger(podCount) || podCount < 1 || podCount > 500) throw new Error("--pods must be 1..500");
if (!Number.isInteger(polls) || polls < 1 || polls > 10_000) throw new Error("--polls must be 1..10000");

function percentile(samples: number[], p: number): number {
  const sorted = [...samples].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? NaN;
}
const ms = (value: number) => `${value.toFixed(1)} ms`;

const harness = await startAppHarness();
try {
  // replicas of one workload share a configuration: podCount pods, one deployment
  const started = performance.now();
  for (let index = 0; index < podCount; index += 1) {
    const pod = podFixture({ name: `bench-${index}`, uid: `uid-bench-${index}`, container: "bench" });
    pod.metadata!.ownerReferences = [
      { apiVersion: "apps/v1", kind: "ReplicaSet", name: "bench-rs", uid: "rs-1", controller: true },
    ];
    const response = await harness.putPod(pod);
    if (response.status !== 201) throw new Error(`PUT answered ${response.status}`);
  }
  const accepted = performance.now() - started;
  let scheduled = 0;
  for (let attempt = 0; attempt < 1200 && scheduled < podCount; attempt += 1) {
    await new Promise((resolve) => setTimeout(resolve, 100));
    const list = (await (await harness.call(`${hub}/nodes/${node}/pods`)).json()) as NodePodsResponse;
    scheduled = list.pods.filter((pod) =>
      pod.status.conditions?.some((c) => c.type === "PodScheduled" && c.status === "True"),
    ).length;
  }
  const allOnHub = performance.now() - started;
  const configurations = new Set(
    ((await (await harness.call(`${hub}/nodes/${node}/pods`)).json()) as NodePodsResponse).pods.map(
      (pod) => pod.configurationId,
    ),
  );

  const full: number[] = [];
  const unchanged: number[] = [];
  let etag = "";
  for (let poll = 0; poll < polls; poll += 1) {
    let begin = performance.now();
    const response = await harness.call(`${hub}/nodes/${node}/pods`);
    await response.arrayBuffer();
    full.push(performance.now() - begin);
    etag = response.headers.get("etag") ?? "";
    begin = performance.now();
    const again = await harness.call(`${hub}/nodes/${node}/pods`, { headers: { "if-none-match": etag } });
    await again.arrayBuffer();
    if (again.status === 304) unchanged.push(performance.now() - begin);
  }
  console.log(`${podCount} pods PUT in ${ms(accepted)} (${ms(accepted / podCount)} each)`);
  console.log(
    `${scheduled}/${podCount} on the hub after ${ms(allOnHub)}, sharing ${configurations.size} configuration(s)`,
  );
  console.log(
    `node list of ${podCount} pods, 200: median ${ms(percentile(full, 50))}, p95 ${ms(percentile(full, 95))} (${full.length} polls)`,
  );
  console.log(
    `node list, 304: median ${ms(percentile(unchanged, 50))}, p95 ${ms(percentile(unchanged, 95))} (${unchanged.length} polls)`,
  );
} finally {
  await harness.stop();
}
