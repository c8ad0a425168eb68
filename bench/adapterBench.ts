// bench:adapter — how fast the adapter carries a Deployment's replicas from `kubectl apply` to the
// provider and back to Running pods, and how fast it removes them, on the real control plane with
// the contract stand-in provider (test/adapter/support/contractProvider.ts, which answers at once,
// so the figures are the adapter's and the apiserver's share, not the hub's).
// Usage: npm run bench:adapter -- [replicas=50] [runs=5]
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { pino } from "pino";
import { readAdapterConfig } from "../lib/adapter/config.js";
import { startAdapter } from "../lib/adapter/startAdapter.js";
import { startControlPlane } from "../dev/cluster/controlPlane.js";
import { ContractProvider } from "../test/adapter/support/contractProvider.js";
import { installChartForAdapter } from "../dev/connector/installedAdapter.js";

const replicas = Number(process.argv[2] ?? 50);
const runs = Number(process.argv[3] ?? 5);
const NODE = "vk-bench";
const POLL_MS = 100;
const MAX_POLLS = 1_200; // 2 minutes per phase

function deployment(name: string): string {
  return `apiVersion: apps/v1
kind: Deployment
metadata: { name: ${name}, namespace: default }
spec:
  replicas: ${replicas}
  selector: { matchLabels: { app: ${name} } }
  template:
    metadata: { labels: { app: ${name} } }
    spec:
      nodeSelector: { type: virtual-kubelet }
      tolerations: [{ key: virtual-kubelet.io/provider, operator: Equal, value: iotedge, effect: NoSchedule }]
      containers: [{ name: sensor, image: "mcr.microsoft.com/azureiotedge-simulated-temperature-sensor:1.5" }]
`;
}

async function until(what: string, check: () => Promise<boolean> | boolean): Promise<void> {
  for (let poll = 0; poll < MAX_POLLS; poll++) {
    if (await check()) return;
    await sleep(POLL_MS);
  }
  throw new Error(`gave up waiting until ${what}`);
}

function summary(values: number[]): string {
  const sorted = [...values].sort((a, b) => a - b);
  const at = (q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? NaN;
  return `median ${at(0.5).toFixed(0)} ms, min ${sorted[0]?.toFixed(0)} ms, max ${sorted.at(-1)?.toFixed(0)} ms`;
}

const dir = await mkdtemp(path.join(tmpdir(), "adapter-bench-"));
const [cluster, provider] = await Promise.all([startControlPlane(), ContractProvider.start("bench-key")]);
try {
  const { adapterArgs } = await installChartForAdapter({
    cluster,
    dir,
    node: NODE,
    hub: "hub1",
    providerUrl: provider.baseUrl,
    key: "bench-key",
  });
  // the node's capacity is what the provider reports (the stand-in: 100 pods unless told)
  provider.capacityPods = replicas + 10;
  const config = readAdapterConfig({}, [...adapterArgs, "--status-interval-ms=1000", "--capacity-pods=1000"]);
  const adapter = await startAdapter(config, pino({ level: "silent" }));
  const runningCount = async (app: string) => {
    const { stdout } = await cluster.kubectl([
      "get",
      "pods",
      `--selector=app=${app}`,
      "--field-selector=status.phase=Running",
      "--output=name",
    ]);
    return stdout.split("\n").filter(Boolean).length;
  };
  const toProvider: number[] = [];
  const toRunning: number[] = [];
  const toRemoved: number[] = [];
  for (let run = 0; run < runs; run++) {
    const app = `bench-${run}`;
    const started = performance.now();
    await cluster.kubectl(["apply", "--filename=-"], deployment(app));
    const sent = () => [...provider.pods.keys()].filter((key) => key.startsWith(`default/${app}-`)).length;
    await until(`${replicas} pods at the provider`, () => sent() === replicas);
    toProvider.push(performance.now() - started);
    await until(`${replicas} pods Running`, async () => (await runningCount(app)) === replicas);
    toRunning.push(performance.now() - started);
    const deleting = performance.now();
    await cluster.kubectl(["delete", "deployment", app, "--wait=false"]);
    await until("pods removed", async () => {
      const { stdout } = await cluster.kubectl(["get", "pods", `--selector=app=${app}`, "--output=name"]);
      return stdout.trim() === "" && sent() === 0;
    });
    toRemoved.push(performance.now() - deleting);
    console.log(
      `run ${run + 1}: provider ${toProvider.at(-1)?.toFixed(0)} ms, Running ${toRunning.at(-1)?.toFixed(0)} ms, removed ${toRemoved.at(-1)?.toFixed(0)} ms`,
    );
  }
  console.log(`${replicas} replicas, ${runs} runs (status poll every ${config.statusIntervalMs} ms)`);
  console.log(`apply → all PUT at the provider: ${summary(toProvider)}`);
  console.log(`apply → all Running in the apiserver: ${summary(toRunning)}`);
  console.log(`delete Deployment → all pods gone (provider first): ${summary(toRemoved)}`);
  await adapter.stop();
} finally {
  await provider.stop();
  await cluster.stop();
  await rm(dir, { recursive: true, force: true });
}
