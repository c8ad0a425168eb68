// bench:app-pace — the app's own pace under a burst, with the machine to itself: the pods of
// bench:e2e's workload (their Deployments' replicas, one ReplicaSet each) PUT straight to the app on
// the local host (Azurite on disk, the IoT Hub simulator at S1 x 1 with 5 devices), by as many
// senders as the adapter has pod-sync workers, each waiting out a busy app's Retry-After as the
// adapter does; no control plane and no adapter. Per run: time from the first PUT until every pod is
// at the app, every configuration on the hub (PodScheduled) and every pod Running at the app (its
// node list, read every 500 ms), and the CPU of the app's host and Azurite a pod. Set side by side
// with bench:e2e, it says how much of that burst's time is the app's and how much the machine it
// shares with the control plane.
//   npm run bench:app-pace [-- --pods 200 --deployments 10 --runs 1 --senders 4]
import { randomUUID } from "node:crypto";
import { setTimeout as sleep } from "node:timers/promises";
import { parseArgs } from "node:util";
import type { V1Deployment, V1Pod } from "@kubernetes/client-node";
import { parseAllDocuments } from "yaml";
import { ProviderClient } from "../lib/adapter/providerClient.js";
import { ProviderCallError } from "../lib/adapter/podProvider.js";
import { DEFAULT_POD_SYNC_WORKERS } from "../lib/adapter/config.js";
import { startAppStack } from "./support/appStack.js";
import { cpuSecondsOf, machineBusySeconds } from "./support/cpuAccounting.js";
import { sensorWorkload } from "./support/sensorWorkload.js";
import { wholeNumber } from "./support/wholeNumber.js";

const HUB = "sim-hub";
const NODE = "iot-edge-sim-hub";
const LIST_POLL_MS = 500;
const GIVE_UP_AFTER_MS = 10 * 60_000;

const { values } = parseArgs({
  options: {
    pods: { type: "string", default: "200" },
    deployments: { type: "string", default: "10" },
    runs: { type: "string", default: "1" },
    senders: { type: "string", default: String(DEFAULT_POD_SYNC_WORKERS) },
  },
});
const deploymentCount = wholeNumber("deployments", values.deployments, 90); // the hub holds 100 deployments
const podCount = wholeNumber("pods", values.pods, 5_000);
const runs = wholeNumber("runs", values.runs, 20);
const senders = wholeNumber("senders", values.senders, 100);
if (podCount % deploymentCount !== 0) throw new Error("--pods must be a multiple of --deployments");
const replicas = podCount / deploymentCount;

/**
 * The workload's pods as the ReplicaSet controllers would create them, bound to the node, in the
 * order the adapter sends a burst: one replica of each ReplicaSet in turn (its first ones first).
 */
function workloadPods(): V1Pod[] {
  const deployments = parseAllDocuments(
    sensorWorkload({ deployments: deploymentCount, replicas, bench: "app-pace" }),
  ).map((document) => document.toJS() as V1Deployment);
  const owners = deployments.map((deployment) => ({
    apiVersion: "apps/v1",
    kind: "ReplicaSet",
    name: `${deployment.metadata!.name!}-rs`,
    uid: randomUUID(),
    controller: true,
  }));
  return Array.from({ length: replicas }, (_, index) =>
    deployments.map((deployment, which): V1Pod => ({
      apiVersion: "v1",
      kind: "Pod",
      metadata: {
        ...deployment.spec!.template.metadata,
        name: `${deployment.metadata!.name!}-${index}`,
        namespace: "default",
        uid: randomUUID(),
        ownerReferences: [owners[which]!],
        creationTimestamp: new Date(),
      },
      spec: { ...deployment.spec!.template.spec!, nodeName: NODE },
    })),
  ).flat();
}

interface RunResult {
  atApp: number;
  onHub: number;
  running: number;
  busyAnswers: number;
  hostCpuSeconds: number;
  azuriteCpuSeconds: number;
  machineBusySeconds: number;
  storageTransactions: number;
}

async function run(): Promise<RunResult> {
  const stops: (() => Promise<unknown>)[] = [];
  try {
    const stack = await startAppStack({ hub: HUB, node: NODE, inMemoryStorage: false }, (part) => {
      stops.push(() => part.stop());
      return part;
    });
    const { azurite, host, node, providerUrl, storage } = stack;
    const provider = new ProviderClient({
      baseUrl: providerUrl,
      functionKey: node.key,
      hubName: HUB,
      nodeName: NODE,
    });
    await provider.reconcile([]); // the adapter's first call: the app knows the node
    await sleep(2_000);
    const pods = workloadPods();
    const cpuBefore = {
      host: cpuSecondsOf(host.pid),
      azurite: cpuSecondsOf(azurite.pid),
      machine: machineBusySeconds(),
    };
    const storageBefore = await storage.counts();
    let busyAnswers = 0;
    const started = performance.now();
    const queue = [...pods];
    const send = async () => {
      for (let pod = queue.shift(); pod !== undefined; pod = queue.shift()) {
        for (;;) {
          try {
            await provider.putPod(pod, { configMaps: {}, secrets: {} });
            break;
          } catch (error) {
            const retryAfterMs = ProviderCallError.retryAfterMs(error);
            if (retryAfterMs === undefined) throw error;
            busyAnswers += 1;
            await sleep(retryAfterMs);
          }
        }
      }
    };
    const sent = Promise.all(Array.from({ length: senders }, send));
    let sendFailed: Error | undefined;
    sent.catch((error: unknown) => (sendFailed = new Error("a PUT failed", { cause: error })));
    let atApp = Infinity;
    let onHub = Infinity;
    let running = Infinity;
    while (running === Infinity) {
      const elapsed = performance.now() - started;
      if (elapsed > GIVE_UP_AFTER_MS) throw new Error(`not every pod Running at the app after ${elapsed} ms`);
      if (sendFailed !== undefined) throw sendFailed;
      await sleep(LIST_POLL_MS);
      const list = await provider.listPodStatuses();
      if (list === undefined) continue;
      const now = performance.now() - started;
      const onHubNow = new Set(
        list.pods
          .filter((pod) =>
            pod.status.conditions?.some((c) => c.type === "PodScheduled" && c.status === "True"),
          )
          .map((pod) => pod.configurationId),
      );
      if (atApp === Infinity && list.pods.length === podCount) atApp = now;
      if (onHub === Infinity && onHubNow.size === deploymentCount) onHub = now;
      if (list.pods.length === podCount && list.pods.every((pod) => pod.status.phase === "Running"))
        running = now;
    }
    await sent;
    const storageAfter = await storage.counts();
    const total = (counts: typeof storageAfter) => Object.values(counts.counts).reduce((a, b) => a + b, 0);
    return {
      atApp,
      onHub,
      running,
      busyAnswers,
      hostCpuSeconds: cpuSecondsOf(host.pid) - cpuBefore.host,
      azuriteCpuSeconds: cpuSecondsOf(azurite.pid) - cpuBefore.azurite,
      machineBusySeconds: machineBusySeconds() - cpuBefore.machine,
      storageTransactions: total(storageAfter) - total(storageBefore),
    };
  } finally {
    for (const stop of stops.reverse()) await stop().catch(() => undefined);
  }
}

const results: RunResult[] = [];
for (let index = 0; index < runs; index += 1) {
  const result = await run();
  results.push(result);
  console.log(
    `run ${index + 1}: every pod at the app ${(result.atApp / 1000).toFixed(1)} s, every configuration on the hub ` +
      `${(result.onHub / 1000).toFixed(1)} s, every pod Running at the app ${(result.running / 1000).toFixed(1)} s`,
  );
}
const seconds = (ms: number) => `${(ms / 1000).toFixed(1)} s`;
const perPod = (cpuSeconds: number) => `${((cpuSeconds * 1000) / podCount).toFixed(1)} ms`;
const rows: [string, ...string[]][] = [
  ["", ...results.map((_, index) => `run ${index + 1}`)],
  [
    `pods (${deploymentCount} ReplicaSets x ${replicas}), senders`,
    ...results.map(() => `${podCount}, ${senders}`),
  ],
  ["first PUT → every pod at the app", ...results.map((r) => seconds(r.atApp))],
  ["first PUT → every configuration on the hub", ...results.map((r) => seconds(r.onHub))],
  ["first PUT → every pod Running at the app", ...results.map((r) => seconds(r.running))],
  [
    "PUTs a second (pods / first PUT → every pod at the app)",
    ...results.map((r) => (podCount / (r.atApp / 1000)).toFixed(1)),
  ],
  ["busy answers (503, waited out)", ...results.map((r) => String(r.busyAnswers))],
  ["app host CPU per pod", ...results.map((r) => perPod(r.hostCpuSeconds))],
  ["Azurite CPU per pod", ...results.map((r) => perPod(r.azuriteCpuSeconds))],
  [
    "machine CPU busy (of 2 cores)",
    ...results.map((r) => `${Math.round((100 * r.machineBusySeconds) / (r.running / 1000))} %`),
  ],
  ["storage transactions per pod", ...results.map((r) => (r.storageTransactions / podCount).toFixed(1))],
];
console.log(
  "\nS1 x 1, 5 devices, Azurite on disk, no control plane, no adapter (the app's node list read every 500 ms)",
);
const widths = rows[0]!.map((_, column) => Math.max(...rows.map((row) => (row[column] ?? "").length)));
for (const row of rows) console.log(row.map((cell, column) => cell.padEnd(widths[column] ?? 0)).join("  "));
