// bench:e2e — the whole chain under a burst, nothing stood in: many pods applied with one
// `kubectl apply` on the real control plane, the adapter as its own process (chart RBAC), the
// Functions app on the local host (Azurite), the IoT Hub simulator at S1 x 1 with 5 devices tagged
// environment=dev, as `npm start` runs it. Per pod: time from the apply to its first Running+Ready
// status (watched: support/podWatch.ts); per configuration: time from the apply until the app reports it on the hub (the pods'
// PodScheduled condition, set when the hub answered the create: read from the app, not the hub, so
// the measurement spends none of the hub's 20 configuration operations a minute). Adapter CPU and
// peak RSS come from /proc; it runs with the chart's nodeOptions. Storage transactions are the
// app's requests to Azurite, counted by a proxy (support/countingStorageProxy.ts), and the
// apiserver's requests come from its own metrics (apiserver_request_total). Each run starts
// a fresh stack. The CPU of the app's host, Azurite, the bench (with the simulator) and the whole
// machine say whether a run waited for the 2 shared cores.
// The task hub's backlog (its queued messages, what the app's 503 watches) is sampled every second.
//   npm run bench:e2e [-- --pods 200 --deployments 10 --runs 1 --status-interval-ms 5000 --storage disk|memory
//                        --pod-sync-workers N --backlog-limit N --control-plane-qps N --give-up-after-minutes 10]
// A run that gives up says what waits in the task hub's queues (support/waitingMessages.ts).
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { availableParallelism, tmpdir } from "node:os";
import path from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { parseArgs } from "node:util";
import type { V1Node, V1Pod } from "@kubernetes/client-node";
import { QueueServiceClient } from "@azure/storage-queue";
import { TaskHubBacklog } from "../lib/app/taskHubBacklog.js";
import type { NodePodsResponse } from "../lib/provider/providerContract.js";
import type { SimulatorStats } from "../dev/simulator/simulator.js";
import { startControlPlane, type ControlPlane } from "../dev/cluster/controlPlane.js";
import { installChartForAdapter } from "../dev/connector/installedAdapter.js";
import { startBuiltAdapter } from "./support/builtAdapter.js";
import { sensorWorkload } from "./support/sensorWorkload.js";
import { startAppStack } from "./support/appStack.js";
import { describeWaitingMessages } from "./support/waitingMessages.js";
import { watchPods } from "./support/podWatch.js";
import { cpuSecondsOf, machineBusySeconds, processUsage } from "./support/cpuAccounting.js";
import { wholeNumber } from "./support/wholeNumber.js";

const HUB = "sim-hub";
const NODE = "iot-edge-sim-hub";
const POLL_MS = 500;
const MAX_POLLS = 1_200; // ten minutes for the node to become Ready
/** the app's list of the node's pods (1,000 statuses a read): its figures are this coarse */
const APP_POLL_MS = 2_000;
/** the stack idle before the apply, measured this long */
const IDLE_SPAN_MS = 5_000;
/** host.json extensions.durableTask.hubName */
const TASK_HUB = "IotEdgeConnector";

const { values } = parseArgs({
  options: {
    pods: { type: "string", default: "200" },
    deployments: { type: "string", default: "10" },
    runs: { type: "string", default: "1" },
    "status-interval-ms": { type: "string", default: "5000" },
    // disk: Azurite as `npm start` runs it; memory: without its persistence, whose cost grows with the data
    storage: { type: "string", default: "disk" },
    // the adapter's and the app's defaults unless given
    "pod-sync-workers": { type: "string" },
    "backlog-limit": { type: "string" },
    // the controller-manager's and scheduler's requests a second (their defaults 20 and 50 unless given)
    "control-plane-qps": { type: "string" },
    // then the run fails with what it saw
    "give-up-after-minutes": { type: "string", default: "10" },
  },
});
const deploymentCount = wholeNumber("deployments", values.deployments, 90); // the hub holds 100 deployments
const podCount = wholeNumber("pods", values.pods, 1_000);
const runs = wholeNumber("runs", values.runs, 20);
const giveUpAfterMs = wholeNumber("give-up-after-minutes", values["give-up-after-minutes"], 60) * 60_000;
const statusIntervalMs = wholeNumber("status-interval-ms", values["status-interval-ms"], 60_000);
if (values.storage !== "disk" && values.storage !== "memory")
  throw new Error(`--storage must be disk or memory, got "${values.storage}"`);
const inMemoryStorage = values.storage === "memory";
const podSyncWorkers = values["pod-sync-workers"];
if (podSyncWorkers !== undefined) wholeNumber("pod-sync-workers", podSyncWorkers, 100);
const backlogLimit = values["backlog-limit"];
if (backlogLimit !== undefined && !/^\d+$/.test(backlogLimit))
  throw new Error(`--backlog-limit must be a whole number (0: none), got "${backlogLimit}"`);
const controlPlaneQps = values["control-plane-qps"];
if (controlPlaneQps !== undefined) wholeNumber("control-plane-qps", controlPlaneQps, 1_000);
if (podCount % deploymentCount !== 0) throw new Error("--pods must be a multiple of --deployments");
const replicas = podCount / deploymentCount;

const workload = () => sensorWorkload({ deployments: deploymentCount, replicas, bench: "e2e" });

const runningAndReady = (pod: V1Pod) =>
  pod.status?.phase === "Running" &&
  pod.status.conditions?.some((condition) => condition.type === "Ready" && condition.status === "True") ===
    true;

interface RunResult {
  pods: number[]; // ms from apply to Running, per pod
  created: number[]; // ms from apply to the pod's creationTimestamp (1 s resolution), per pod
  bound: number[]; // ms from apply until kubectl first shows the pod bound to the node, per pod
  atApp: number[]; // ms from apply until the app lists the pod (the adapter's PUT accepted), per pod
  runningAtApp: number[]; // ms from apply until the app's status of the pod is Running, per pod
  configurations: Map<string, number>; // ms from apply to on the hub, per configuration id
  /** the apiserver's requests from the apply until all Running, by verb and resource */
  apiRequests: Record<string, number>;
  /** Kubernetes Events on the pods when all are Running (each an apiserver write, kept in etcd), by reason */
  events: Record<string, number>;
  /** cores' worth of CPU each process spent with the stack idle before the apply */
  idle: { host: number; azurite: number; controlPlane: number; bench: number; machine: number };
  adapterCpuSeconds: number;
  adapterIdleCpuSeconds: number;
  adapterPeakRssMiB: number;
  /** CPU seconds from the apply until all Running: the app's host, Azurite, this bench, all cores busy */
  hostCpuSeconds: number;
  /** etcd, the apiserver, the controller-manager and the scheduler together */
  controlPlaneCpuSeconds: number;
  azuriteCpuSeconds: number;
  benchCpuSeconds: number;
  machineBusySeconds: number;
  /** the task hub's queued messages, sampled each second from the apply */
  backlogPeak: number;
  backlogMedian: number;
  hub: SimulatorStats;
  /** storage requests (Azurite, through a counting proxy) from the apply until all Running, by service and resource */
  storage: Record<string, number>;
  /** body bytes sent and received, by resource (a blob container by its first folder) */
  storageBytes: Record<string, number>;
  /** mean ms from a storage request to its answer, by service, over the same span */
  storageLatencyMs: Record<string, number>;
}

function fulfilled<T>(part: PromiseSettledResult<T>): T {
  if (part.status === "rejected") throw part.reason;
  return part.value;
}

async function run(): Promise<RunResult> {
  const dir = await mkdtemp(path.join(tmpdir(), "e2e-bench-"));
  const stops: (() => Promise<unknown>)[] = [() => rm(dir, { recursive: true, force: true })];
  try {
    // every part that started is stopped, even when another one failed to start
    const stoppedLater = <T extends { stop(): Promise<unknown> }>(part: T): T => {
      stops.push(() => part.stop());
      return part;
    };
    const [clusterPart, appPart] = await Promise.allSettled([
      startControlPlane(controlPlaneQps === undefined ? {} : { clientQps: Number(controlPlaneQps) }).then(
        stoppedLater,
      ),
      startAppStack(
        {
          hub: HUB,
          node: NODE,
          inMemoryStorage,
          ...(backlogLimit !== undefined && { backlogLimit }),
        },
        stoppedLater,
      ),
    ]);
    const [cluster, { azurite, simulator, storage, host, node, providerUrl }] = [
      fulfilled(clusterPart),
      fulfilled(appPart),
    ];
    const { adapterArgs } = await installChartForAdapter({
      cluster,
      dir,
      node: NODE,
      hub: HUB,
      providerUrl,
      key: node.key,
    });
    const adapter = startBuiltAdapter([
      ...adapterArgs,
      `--status-interval-ms=${statusIntervalMs}`,
      "--node-status-interval-ms=10000",
      "--lease-interval-ms=10000",
      `--capacity-pods=${podCount + 10}`,
      ...(podSyncWorkers !== undefined ? [`--pod-sync-workers=${podSyncWorkers}`] : []),
    ]);
    stops.push(() => adapter.stop());
    for (let poll = 0; ; poll++) {
      const { stdout } = await cluster.kubectl(["get", "node", NODE, "--output=json", "--ignore-not-found"]);
      const node = stdout.trim() === "" ? undefined : (JSON.parse(stdout) as V1Node);
      if (node?.status?.conditions?.some((c) => c.type === "Ready" && c.status === "True")) break;
      if (poll === MAX_POLLS || !adapter.running()) throw new Error(`node ${NODE} did not become Ready`);
      await sleep(POLL_MS);
    }
    await sleep(2_000); // let the adapter's start (reconcile, first polls) settle before the idle baseline
    // the whole stack idle, its pods not yet applied: what each process spends doing nothing
    const idleFrom = {
      cpu: otherCpuSeconds(host.pid, azurite.pid, cluster.processIds()),
      at: performance.now(),
    };
    await sleep(IDLE_SPAN_MS);
    const idleTo = otherCpuSeconds(host.pid, azurite.pid, cluster.processIds());
    const idleSeconds = (performance.now() - idleFrom.at) / 1000;
    const idleShare = (key: keyof typeof idleTo) => (idleTo[key] - idleFrom.cpu[key]) / idleSeconds;
    const idle = {
      host: idleShare("host"),
      azurite: idleShare("azurite"),
      controlPlane: idleShare("controlPlane"),
      bench: idleShare("bench"),
      machine: idleShare("machine"),
    };
    const beforeApply = processUsage(adapter.pid);
    const cpuBefore = otherCpuSeconds(host.pid, azurite.pid, cluster.processIds());
    const hubBefore = simulator.stats;
    const storageBefore = await storage.counts();

    // straight to Azurite, not through the counting proxy: the app's own requests stay counted alone
    const queues = QueueServiceClient.fromConnectionString(azurite.connectionString);
    const backlog = new TaskHubBacklog(queues);
    const backlogSamples: number[] = [];
    const sampling = setInterval(() => {
      backlog.messages(TASK_HUB).then(
        (count) => backlogSamples.push(count),
        () => undefined,
      );
    }, 1_000);
    stops.push(() => Promise.resolve(clearInterval(sampling)));
    const runningAt = new Map<string, number>();
    const createdAt = new Map<string, number>();
    const boundAt = new Map<string, number>();
    const onHubAt = new Map<string, number>();
    const atAppAt = new Map<string, number>();
    const runningAtAppAt = new Map<string, number>();
    let applied = Infinity;
    let appliedAtEpochMs = 0;
    const pods = await watchPods(cluster.kubeconfigPath, "bench=e2e", (pod) => {
      const uid = pod.metadata?.uid;
      if (uid === undefined) return;
      const elapsed = performance.now() - applied;
      if (!runningAt.has(uid) && runningAndReady(pod)) runningAt.set(uid, elapsed);
      if (!boundAt.has(uid) && pod.spec?.nodeName === NODE) boundAt.set(uid, elapsed);
      const created = pod.metadata?.creationTimestamp;
      if (!createdAt.has(uid) && created !== undefined)
        createdAt.set(uid, new Date(created).getTime() - appliedAtEpochMs);
    });
    stops.push(() => Promise.resolve(pods.stop()));
    const apiRequestsBefore = await apiserverRequests(cluster);
    applied = performance.now();
    appliedAtEpochMs = Date.now();
    await cluster.kubectl(["apply", "--filename=-"], workload());
    // A read the busy local host drops (connection reset) is skipped: the next poll reads again.
    const nodePods = () =>
      fetch(`${providerUrl}/v1/hubs/${HUB}/nodes/${NODE}/pods`, {
        headers: { "x-functions-key": node.key },
      })
        .then((response) => (response.ok ? (response.json() as Promise<NodePodsResponse>) : undefined))
        .catch(() => undefined);
    while (runningAt.size < podCount || onHubAt.size < deploymentCount) {
      // measured from the apply (a poll of 1,000 pods takes longer than APP_POLL_MS)
      if (performance.now() - applied > giveUpAfterMs || !adapter.running()) {
        const hostLog = path.join(tmpdir(), `e2e-bench-host-${Date.now()}.log`);
        await writeFile(hostLog, host.output.join("\n"));
        console.log(`waiting in the task hub's queues:\n${await describeWaitingMessages(queues, TASK_HUB)}`);
        const { byResource } = await storage.counts();
        const transactions = sum(byResource) - sum(storageBefore.byResource);
        throw new Error(
          `after ${seconds(performance.now() - applied)}: ${atAppAt.size}/${podCount} pods at the app, ` +
            `${runningAt.size}/${podCount} Running, ${onHubAt.size}/${deploymentCount} configurations on the hub, ` +
            `${transactions} storage transactions (host log: ${hostLog})`,
        );
      }
      const response = await nodePods();
      const elapsed = performance.now() - applied;
      if (response !== undefined) {
        for (const pod of response.pods) {
          if (!atAppAt.has(pod.uid)) atAppAt.set(pod.uid, elapsed);
          if (!runningAtAppAt.has(pod.uid) && pod.status.phase === "Running")
            runningAtAppAt.set(pod.uid, elapsed);
          const onHub = pod.status.conditions?.some((c) => c.type === "PodScheduled" && c.status === "True");
          if (onHub && pod.configurationId !== undefined && !onHubAt.has(pod.configurationId))
            onHubAt.set(pod.configurationId, elapsed);
        }
      }
      await sleep(APP_POLL_MS);
    }
    pods.stop();
    clearInterval(sampling);
    const afterRun = processUsage(adapter.pid);
    const cpuAfter = otherCpuSeconds(host.pid, azurite.pid, cluster.processIds());
    const hubAfter = simulator.stats;
    const storageAfter = await storage.counts();
    const events = await eventsByReason(cluster);
    const apiRequests = subtract(await apiserverRequests(cluster), apiRequestsBefore);
    return {
      apiRequests,
      pods: [...runningAt.values()],
      created: [...createdAt.values()],
      bound: [...boundAt.values()],
      atApp: [...atAppAt.values()],
      runningAtApp: [...runningAtAppAt.values()],
      configurations: onHubAt,
      events,
      idle,
      adapterCpuSeconds: afterRun.cpuSeconds - beforeApply.cpuSeconds,
      adapterIdleCpuSeconds: beforeApply.cpuSeconds,
      adapterPeakRssMiB: afterRun.peakRssMiB,
      hostCpuSeconds: cpuAfter.host - cpuBefore.host,
      azuriteCpuSeconds: cpuAfter.azurite - cpuBefore.azurite,
      controlPlaneCpuSeconds: cpuAfter.controlPlane - cpuBefore.controlPlane,
      benchCpuSeconds: cpuAfter.bench - cpuBefore.bench,
      machineBusySeconds: cpuAfter.machine - cpuBefore.machine,
      backlogPeak: Math.max(0, ...backlogSamples),
      backlogMedian: percentile(backlogSamples, 50),
      hub: difference(hubAfter, hubBefore),
      storageLatencyMs: Object.fromEntries(
        (["blob", "queue", "table"] as const).map((service) => [
          service,
          (storageAfter.latencyMs[service] - storageBefore.latencyMs[service]) /
            Math.max(1, storageAfter.counts[service] - storageBefore.counts[service]),
        ]),
      ),
      storage: Object.fromEntries(
        Object.entries(storageAfter.byResource).map(([key, value]) => [
          key,
          value - (storageBefore.byResource[key] ?? 0),
        ]),
      ),
      storageBytes: Object.fromEntries(
        Object.entries(storageAfter.bytesByResource).map(([key, value]) => [
          key,
          value - (storageBefore.bytesByResource[key] ?? 0),
        ]),
      ),
    };
  } finally {
    for (const stop of stops.reverse()) await stop().catch(() => undefined);
  }
}

/** The apiserver's requests so far by verb and resource (its own metrics), e.g. "PATCH pods/status". */
async function apiserverRequests(cluster: ControlPlane): Promise<Record<string, number>> {
  const { stdout } = await cluster.kubectl(["get", "--raw", "/metrics"]);
  const counts: Record<string, number> = {};
  for (const line of stdout.split("\n")) {
    if (!line.startsWith("apiserver_request_total{")) continue;
    const label = (name: string) => new RegExp(`[{,]${name}="([^"]*)"`).exec(line)?.[1] ?? "";
    const subresource = label("subresource");
    const key = `${label("verb")} ${label("resource")}${subresource ? `/${subresource}` : ""}`;
    counts[key] = (counts[key] ?? 0) + Number(line.slice(line.lastIndexOf(" ") + 1));
  }
  return counts;
}

/** The Events of the run's pods (read after the timed span), counted by reason. */
async function eventsByReason(cluster: ControlPlane): Promise<Record<string, number>> {
  const { stdout } = await cluster.kubectl([
    "get",
    "events",
    "--namespace=default",
    "--field-selector=involvedObject.kind=Pod",
    '--output=jsonpath={range .items[*]}{.reason}{"\\n"}{end}',
  ]);
  const counts: Record<string, number> = {};
  for (const reason of stdout.split("\n").filter((line) => line.length > 0))
    counts[reason] = (counts[reason] ?? 0) + 1;
  return counts;
}

/** CPU seconds so far of the app's host, Azurite, the control plane, this process (its polls) and the whole machine. */
function otherCpuSeconds(
  hostPid: number | undefined,
  azuritePid: number | undefined,
  controlPlanePids: number[],
) {
  return {
    host: cpuSecondsOf(hostPid),
    azurite: cpuSecondsOf(azuritePid),
    controlPlane: controlPlanePids.reduce((total, pid) => total + cpuSecondsOf(pid), 0),
    bench: processUsage(process.pid, { withChildren: true }).cpuSeconds,
    machine: machineBusySeconds(),
  };
}

function subtract<K extends string>(after: Record<K, number>, before: Record<K, number>): Record<K, number> {
  return Object.fromEntries(
    Object.entries<number>(after).map(([key, value]) => [key, value - (before[key as K] ?? 0)]),
  ) as Record<K, number>;
}

function difference(after: SimulatorStats, before: SimulatorStats): SimulatorStats {
  return {
    operations: subtract(after.operations, before.operations),
    admitted: subtract(after.admitted, before.admitted),
    shaped: subtract(after.shaped, before.shaped),
    throttled: subtract(after.throttled, before.throttled),
    eventsRouted: after.eventsRouted - before.eventsRouted,
    lastEvaluationMs: after.lastEvaluationMs,
  };
}

function percentile(samples: number[], p: number): number {
  const sorted = [...samples].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? NaN;
}
const seconds = (ms: number) => `${(ms / 1000).toFixed(1)} s`;
const sum = (record: Record<string, number>) =>
  Object.values(record).reduce((total, value) => total + value, 0);
const sumWhere = (record: Record<string, number>, service: string) =>
  sum(Object.fromEntries(Object.entries(record).filter(([key]) => key.startsWith(`${service} `))));

const results: RunResult[] = [];
for (let index = 0; index < runs; index++) {
  const result = await run();
  results.push(result);
  const configurationTimes = [...result.configurations.values()];
  console.log(
    `run ${index + 1}: all ${result.configurations.size} configurations on the hub ${seconds(Math.max(...configurationTimes))}, ` +
      `all ${result.pods.length} pods Running ${seconds(Math.max(...result.pods))}`,
  );
}
const rows: [string, ...string[]][] = [
  ["", ...results.map((_, index) => `run ${index + 1}`)],
  [
    "pods (Deployments x replicas)",
    ...results.map((r) => `${r.pods.length} (${deploymentCount} x ${replicas})`),
  ],
  ["configurations on the hub", ...results.map((r) => String(r.configurations.size))],
  [
    "apply → first configuration on the hub",
    ...results.map((r) => seconds(Math.min(...r.configurations.values()))),
  ],
  [
    "apply → every configuration on the hub",
    ...results.map((r) => seconds(Math.max(...r.configurations.values()))),
  ],
  [
    "apply → every pod created (creationTimestamp, 1 s)",
    ...results.map((r) => seconds(Math.max(...r.created))),
  ],
  ["apply → every pod bound to the node", ...results.map((r) => seconds(Math.max(...r.bound)))],
  ["apply → every pod at the app (PUT)", ...results.map((r) => seconds(Math.max(...r.atApp)))],
  ["apply → pod Running at the app, median", ...results.map((r) => seconds(percentile(r.runningAtApp, 50)))],
  ["apply → pod Running, median", ...results.map((r) => seconds(percentile(r.pods, 50)))],
  ["apply → pod Running, p99", ...results.map((r) => seconds(percentile(r.pods, 99)))],
  ["apply → pod Running, max", ...results.map((r) => seconds(Math.max(...r.pods)))],
  [
    "PUTs a second (pods / apply → every pod at the app)",
    ...results.map((r) => (r.atApp.length / (Math.max(...r.atApp) / 1000)).toFixed(1)),
  ],
  ["adapter CPU, apply → all Running", ...results.map((r) => `${r.adapterCpuSeconds.toFixed(2)} s`)],
  [
    "adapter CPU per pod",
    ...results.map((r) => `${((r.adapterCpuSeconds / r.pods.length) * 1000).toFixed(1)} ms`),
  ],
  ["adapter CPU, start → apply", ...results.map((r) => `${r.adapterIdleCpuSeconds.toFixed(2)} s`)],
  ["adapter peak RSS", ...results.map((r) => `${r.adapterPeakRssMiB.toFixed(0)} MiB`)],
  ...(
    [
      ["app host", "hostCpuSeconds"],
      ["Azurite", "azuriteCpuSeconds"],
      ["the control plane (etcd, apiserver, controller-manager, scheduler)", "controlPlaneCpuSeconds"],
      ["this bench (its watch and polls, the simulator)", "benchCpuSeconds"],
    ] as const
  ).map(([who, key]): [string, ...string[]] => [
    `${who} CPU per pod, apply → all Running`,
    ...results.map((r) => `${((r[key] / r.pods.length) * 1000).toFixed(1)} ms`),
  ]),
  [
    "idle before the apply, % of a core: app host / Azurite / control plane / bench / machine",
    ...results.map(({ idle }) =>
      [idle.host, idle.azurite, idle.controlPlane, idle.bench, idle.machine]
        .map((share) => `${(share * 100).toFixed(0)}`)
        .join(" / "),
    ),
  ],
  [
    "Kubernetes Events a pod (on the pods, when all Running)",
    ...results.map(
      (r) => `${(Object.values(r.events).reduce((a, b) => a + b, 0) / r.pods.length).toFixed(1)}`,
    ),
  ],
  [
    `machine CPU busy, apply → all Running (of ${availableParallelism()} cores)`,
    ...results.map((r) => `${((r.machineBusySeconds / (Math.max(...r.pods) / 1000)) * 100).toFixed(0)} %`),
  ],
  [
    "task hub messages waiting, median / peak",
    ...results.map((r) => `${r.backlogMedian} / ${r.backlogPeak}`),
  ],
  ["hub operations (all classes)", ...results.map((r) => String(sum(r.hub.operations)))],
  ["hub configuration operations", ...results.map((r) => String(r.hub.admitted.configurations ?? 0))],
  ["hub 429s (all classes)", ...results.map((r) => String(sum(r.hub.throttled)))],
  ["hub requests shaped (queued)", ...results.map((r) => String(sum(r.hub.shaped)))],
  [
    "storage transactions per pod, apply → all Running",
    ...results.map((r) => (sum(r.storage) / r.pods.length).toFixed(1)),
  ],
  ...(["blob", "queue", "table"] as const).map((service): [string, ...string[]] => [
    `  of which ${service}`,
    ...results.map((r) => (sumWhere(r.storage, service) / r.pods.length).toFixed(1)),
  ]),
  [
    "storage bytes per pod (bodies sent and received), apply → all Running",
    ...results.map((r) => `${(sum(r.storageBytes) / r.pods.length / 1024).toFixed(1)} KiB`),
  ],
  ...(["blob", "queue", "table"] as const).map((service): [string, ...string[]] => [
    `storage ${service} request, mean time to answer`,
    ...results.map((r) => `${(r.storageLatencyMs[service] ?? 0).toFixed(0)} ms`),
  ]),
];
console.log(
  `\nS1 x 1, 5 devices, adapter status poll ${statusIntervalMs} ms, pods watched, app polled every ${APP_POLL_MS} ms, ` +
    `Azurite ${inMemoryStorage ? "in memory" : "on disk"}, control plane qps ${controlPlaneQps ?? "default (20 / 50)"}`,
);
const widths = Array.from({ length: runs + 1 }, (_, column) =>
  Math.max(...rows.map((row) => (row[column] ?? "").length)),
);
for (const row of rows) console.log(row.map((cell, column) => cell.padEnd(widths[column] ?? 0)).join("  "));
console.log("hub operations by name, run 1:", JSON.stringify(results[0]?.hub.operations));
console.log("storage requests by resource, run 1:", JSON.stringify(results[0]?.storage));
console.log(
  "storage KiB by resource, run 1:",
  JSON.stringify(
    Object.fromEntries(
      Object.entries(results[0]?.storageBytes ?? {}).map(([key, bytes]) => [key, Math.round(bytes / 1024)]),
    ),
  ),
);
console.log("Kubernetes Events on the pods by reason, run 1:", JSON.stringify(results[0]?.events));
console.log(
  "apiserver requests a pod by verb and resource (over 0.05), run 1:",
  JSON.stringify(
    Object.fromEntries(
      Object.entries(results[0]?.apiRequests ?? {})
        .map(([key, count]): [string, number] => [key, count / (results[0]?.pods.length ?? 1)])
        .filter(([, perPod]) => perPod > 0.05)
        .sort(([, a], [, b]) => b - a)
        .map(([key, perPod]) => [key, Number(perPod.toFixed(2))]),
    ),
  ),
);
