// Living within the hub's budget: 200 pods from 10 Deployments on an S1 x 1 simulated hub, with shared
// (content-addressed) configurations versus one configuration per pod, side by side. Both arms run the
// real planner (lib/scheduler/hubPlanner.ts) and the real hub operations (azure-iothub over HTTPS to the
// simulator, which enforces S1's 20 configuration operations a minute and 100 deployments); an
// in-process loop stands in for the applier orchestration, so durable-host overhead is not included.
// The per-pod arm needs minutes of S1 budget, so its time runs `--time-scale` times faster on both
// sides (the simulator's token buckets and the planner share one scaled clock); the shared arm runs
// in real time. Every duration printed is in hub time, i.e. what a real S1 hub would take; scaling
// also multiplies the loopback request latency (a few ms real) by the scale.
// Running: each Deployment targets its own IoT Edge devices (`--devices-per-deployment`, which also run
// the fleet's base deployment); the simulated devices apply deployments at the hub's evaluations (every
// `--evaluation-seconds`, hub time) and report through routed twin events, which the app's own status
// pipeline reads with the real EventHubConsumerClient (readHubEvents → DeviceCache → FleetTracker); a
// pod is Running when derivePodStatus first says so (a targeted device runs every module). Consumer
// latency is real time too, so the scaled arm's Running figures carry it times the scale.
//   npm run bench:budget [-- --time-scale 20 --runs 3 --pods 200 --deployments 10
//                          --devices-per-deployment 5 --evaluation-seconds 5 --settle-seconds 60]
import { EventHubConsumerClient, earliestEventPosition, type ReceivedEventData } from "@azure/event-hubs";
import { readFileSync } from "node:fs";
import { parseArgs } from "node:util";
import type { HubAction } from "../lib/scheduler/applierProtocol.js";
import { hubBudget } from "../lib/scheduler/hubBudget.js";
import { connectorFor, operationFor, runHubAction } from "../lib/scheduler/hubOperations.js";
import { nextWork, recordResults, want } from "../lib/scheduler/hubPlanner.js";
import type { WantConfiguration } from "../lib/scheduler/schedulerContract.js";
import { newSchedulerState, schedulerView } from "../lib/scheduler/schedulerState.js";
import { createHubClient } from "../lib/hub/createHubClient.js";
import { DeviceCache } from "../lib/status/deviceCache.js";
import { FleetTracker } from "../lib/status/fleetStatus.js";
import { derivePodStatus } from "../lib/status/podStatus.js";
import { readHubEvents } from "../lib/status/readHubEvents.js";
import { startSimulator } from "../dev/simulator/simulator.js";
import { baseDeployment } from "../test/support/deployments.js";
import { freeLoopbackHost } from "../dev/simulator/loopbackHost.js";
import { replicaWants } from "../test/scheduler/replicaPods.js";

const { values } = parseArgs({
  options: {
    "time-scale": { type: "string", default: "20" },
    runs: { type: "string", default: "3" },
    pods: { type: "string", default: "200" },
    deployments: { type: "string", default: "10" },
    "devices-per-deployment": { type: "string", default: "5" },
    "evaluation-seconds": { type: "string", default: "5" },
    "settle-seconds": { type: "string", default: "60" },
  },
});
const timeScale = Number(values["time-scale"]);
const runs = Number(values.runs);
const pods = Number(values.pods);
const deployments = Number(values.deployments);
const devicesPerDeployment = Number(values["devices-per-deployment"]);
const evaluationSeconds = Number(values["evaluation-seconds"]);
const settleSeconds = Number(values["settle-seconds"]);
for (const [name, value] of Object.entries({
  "time-scale": timeScale,
  runs,
  pods,
  deployments,
  "devices-per-deployment": devicesPerDeployment,
  "evaluation-seconds": evaluationSeconds,
  "settle-seconds": settleSeconds,
})) {
  if (!Number.isFinite(value) || value < 1) throw new Error(`--${name} must be a number ≥ 1, got ${value}`);
}

type Strategy = "shared" | "per-pod";

interface ArmResult {
  hubOperations: number;
  throttled: number;
  podsFailed: number;
  /** per landed pod: hub seconds from `want` to its configuration on the hub */
  landingSeconds: number[];
  allOnHubSeconds: number;
  /** per pod that became Running: hub seconds from `want` to the status model first saying Running */
  runningSeconds: number[];
  neverRunning: number;
  /** pods whose configuration a device still runs when the arm ends */
  runningAtEnd: number;
}

function workloadWants(strategy: Strategy): WantConfiguration[] {
  const perDeployment = Math.ceil(pods / deployments);
  const wants = Array.from({ length: deployments }, (_, d) =>
    replicaWants(
      { name: `app${d}`, image: `contoso/app${d}:1.0`, targetCondition: `tags.app='app${d}'` },
      perDeployment,
      "bench-hub",
    ),
  )
    .flat()
    .slice(0, pods);
  if (strategy === "shared") return wants;
  // The original connector: every pod its own configuration (same content, an id per pod).
  return wants.map((w, i) => ({
    ...w,
    configuration: { ...w.configuration, id: `${w.configuration.id}-p${i}` },
  }));
}

/** One pod's milestones, in hub time (ms). */
interface PodTrack {
  configurationId: string;
  wantedAt: number;
  onHubAt?: number;
  runningAt?: number;
}

async function runArm(strategy: Strategy, scale: number): Promise<ArmResult> {
  const realStart = Date.now();
  const hubNow = () => realStart + (Date.now() - realStart) * scale;
  // Hub-time cadences become real-time intervals: the scaled arm evaluates and steps as often in hub time.
  const realMs = (hubMs: number) => Math.max(1, Math.round(hubMs / scale));
  const simulator = await startSimulator({
    hubName: "bench-hub",
    host: await freeLoopbackHost(),
    sku: "S1",
    units: 1,
    devices: Array.from({ length: deployments * devicesPerDeployment }, (_, i) => ({
      deviceId: `edge-${String(i).padStart(3, "0")}`,
      tags: { environment: "dev", app: `app${i % deployments}` },
    })),
    evaluationIntervalMs: realMs(evaluationSeconds * 1000),
    runtimeStepMs: realMs(100),
    now: () => new Date(hubNow()),
  });
  const caPem = readFileSync(simulator.caCertPath, "utf8");
  const hub = createHubClient(simulator.iotHubConnectionString, { trustedCa: caPem });
  const consumer = new EventHubConsumerClient("$Default", simulator.eventHubConnectionString);
  try {
    const connect = connectorFor(simulator.iotHubConnectionString, caPem);
    const state = newSchedulerState(
      { hub: "bench-hub", budget: hubBudget("S1", 1), graceSeconds: 60 },
      hubNow(),
    );
    // Layered pods need a base deployment on their devices: the fleet's operator made one before (it
    // takes one of the hub's 100 slots, and its create is not counted as the arm's hub operation).
    const fleetBase = { id: "fleet-base", priority: 0, targetCondition: "tags.environment='dev'" };
    const base = baseDeployment(fleetBase.id, { ...fleetBase, modules: {} });
    await hub.createConfiguration({ ...fleetBase, content: base.content ?? {} });
    await simulator.fleet.evaluateNow();
    const setupOperations = simulator.stats.admitted.configurations;
    // Give the hub back the token that create spent (20/min: one every 3 s) before the planner starts.
    await new Promise((resolve) => setTimeout(resolve, realMs(3_500)));
    // The app's status pipeline: cache filled once by paged twin queries, then kept by routed events.
    const cache = await DeviceCache.fromHub(hub);
    const fleet = new FleetTracker("bench-hub", cache, () => new Date(hubNow()));
    const tracks = new Map<string, PodTrack>();
    const markRunning = () => {
      const view = schedulerView(state);
      for (const track of tracks.values()) {
        const managed = view.configurations[track.configurationId];
        if (track.runningAt !== undefined || !managed) continue;
        const status = derivePodStatus(
          { stage: "Scheduled", configurationId: track.configurationId, configuration: managed.state },
          fleet.status(track.configurationId),
          {
            containers: Object.keys(managed.modules).map((name) => ({
              name,
              image: managed.images[name] ?? "",
            })),
            moduleNames: managed.modules,
          },
        );
        if (status.phase === "Running") track.runningAt = hubNow();
      }
    };
    const subscription = consumer.subscribe(
      {
        processEvents: (batch: ReceivedEventData[]) => {
          fleet.devicesChanged(cache.apply(readHubEvents(batch, () => {}).notifications));
          fleet.update();
          markRunning();
          return Promise.resolve();
        },
        processError: () => Promise.resolve(),
      },
      { startPosition: earliestEventPosition, maxBatchSize: 100, maxWaitTimeInSeconds: 0.05 },
    );

    for (const w of workloadWants(strategy)) {
      tracks.set(w.pod, { configurationId: w.configuration.id, wantedAt: hubNow() });
      want(state, { ...w, notifyInstanceId: w.pod }, hubNow());
    }
    fleet.setConfigurations(Object.values(schedulerView(state).configurations));
    // The applier's loop (bounded): run what the planner hands out, sleep until it says.
    for (let round = 0; round < 10_000; round++) {
      const work = nextWork(state, hubNow());
      if (work.actions.length > 0) {
        const results = await Promise.all(
          work.actions.map((action: HubAction) => {
            const operation = operationFor(action, (id) => state.records[id]?.configuration);
            return "outcome" in operation ? Promise.resolve(operation) : runHubAction(operation, connect);
          }),
        );
        for (const n of recordResults(state, results, hubNow()))
          if ("state" in n.event && n.event.state.phase === "OnHub")
            tracks.get(n.instanceId)!.onHubAt = hubNow();
        // The app hands the scheduler's view to the status pipeline with each batch.
        fleet.setConfigurations(Object.values(schedulerView(state).configurations));
        fleet.update();
        continue;
      }
      if (work.wakeAt === undefined) break;
      const sleepMs = Math.max(0, (Date.parse(work.wakeAt) - hubNow()) / scale);
      await new Promise((resolve) => setTimeout(resolve, sleepMs));
    }
    // Devices apply at the hub's next evaluations: wait (bounded, hub time) until every pod on the hub
    // runs, or `--settle-seconds` after the last one landed.
    const lastOnHub = Math.max(realStart, ...[...tracks.values()].map((t) => t.onHubAt ?? 0));
    for (let wait = 0; wait < 100_000; wait++) {
      markRunning();
      const waiting = [...tracks.values()].some((t) => t.onHubAt !== undefined && t.runningAt === undefined);
      if (!waiting || hubNow() - lastOnHub > settleSeconds * 1000) break;
      await new Promise((resolve) => setTimeout(resolve, realMs(500)));
    }
    await subscription.close();
    const runningAtEnd = [...tracks.values()].filter(
      (t) => (fleet.status(t.configurationId)?.counts.running ?? 0) > 0,
    ).length;
    const stats = simulator.stats;
    const since = (at: number | undefined, t: PodTrack) =>
      at === undefined ? [] : [(at - t.wantedAt) / 1000];
    const landingSeconds = [...tracks.values()].flatMap((t) => since(t.onHubAt, t));
    const runningSeconds = [...tracks.values()].flatMap((t) => since(t.runningAt, t));
    return {
      hubOperations: stats.admitted.configurations - setupOperations,
      throttled: stats.throttled.configurations,
      podsFailed: tracks.size - landingSeconds.length,
      landingSeconds,
      allOnHubSeconds: Math.max(0, ...landingSeconds),
      runningSeconds,
      neverRunning: tracks.size - runningSeconds.length,
      runningAtEnd,
    };
  } finally {
    await consumer.close();
    hub.close();
    await simulator.stop();
  }
}

function percentile(samples: number[], p: number): number {
  const sorted = [...samples].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? Number.NaN;
}

const rows: string[][] = [];
for (const strategy of ["shared", "per-pod"] as const) {
  for (let run = 1; run <= runs; run++) {
    const armScale = strategy === "shared" ? 1 : timeScale;
    const r = await runArm(strategy, armScale);
    rows.push([
      strategy,
      `${armScale}x`,
      String(run),
      String(r.hubOperations),
      String(r.throttled),
      percentile(r.landingSeconds, 50).toFixed(1),
      percentile(r.landingSeconds, 99).toFixed(1),
      r.allOnHubSeconds.toFixed(1),
      percentile(r.runningSeconds, 50).toFixed(1),
      percentile(r.runningSeconds, 99).toFixed(1),
      Math.max(0, ...r.runningSeconds).toFixed(1),
      `${r.podsFailed}/${pods}`,
      `${r.neverRunning}/${pods}`,
      `${r.runningAtEnd}/${pods}`,
    ]);
  }
}
const header = [
  "strategy",
  "time scale",
  "run",
  "hub ops",
  "429s",
  "on hub median s",
  "on hub p99 s",
  "last on hub s",
  "Running median s",
  "Running p99 s",
  "last Running s",
  "never on hub",
  "never Running",
  "Running at end",
];
const widths = header.map((h, i) => Math.max(h.length, ...rows.map((row) => row[i]!.length)));
const line = (cells: string[]) => `| ${cells.map((c, i) => c.padEnd(widths[i]!)).join(" | ")} |`;
console.log(
  `${pods} pods from ${deployments} Deployments, S1 x 1 (20 configuration operations/min, 100 deployments), ` +
    `${devicesPerDeployment} IoT Edge devices per Deployment, hub evaluation every ${evaluationSeconds} s; ` +
    "durations in hub seconds from want",
);
console.log(line(header));
console.log(line(widths.map((w) => "-".repeat(w))));
for (const row of rows) console.log(line(row));
console.log(
  "never on hub: HubDeploymentLimit (the hub holds 100 deployments); Running: the status model " +
    "(derivePodStatus) first says Running, from the devices' routed twin events read over AMQP; " +
    "median/p99 over the pods that got there; Running at end: a device still runs the pod's configuration",
);
