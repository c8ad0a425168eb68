// Living within the hub's budget: 200 pods from 10 Deployments on an S1 x 1 simulated hub, with shared
// (content-addressed) configurations versus one configuration per pod, side by side. Both arms run the
// real planner (lib/scheduler/hubPlanner.ts) and the real hub operations (azure-iothub over HTTPS to the
// simulator, which enforces S1's 20 configuration operations a minute and 100 deployments); an
// in-process loop stands in for the applier orchestration, so durable-host overhead is not included.
// The per-pod arm needs minutes of S1 budget, so its time runs `--time-scale` times faster on both
// sides (the simulator's token buckets and the planner share one scaled clock); the shared arm runs
// in real time. Every duration printed is in hub time, i.e. what a real S1 hub would take; scaling
// also multiplies the loopback request latency (a few ms real) by the scale.
//   npm run bench:budget [-- --time-scale 20 --runs 3 --pods 200 --deployments 10]
import { readFileSync } from "node:fs";
import { parseArgs } from "node:util";
import type { HubAction } from "../../lib/scheduler/applierProtocol.js";
import { hubBudget } from "../../lib/scheduler/hubBudget.js";
import { connectorFor, runHubAction } from "../../lib/scheduler/hubOperations.js";
import { nextWork, recordResults, want } from "../../lib/scheduler/hubPlanner.js";
import type { WantConfiguration } from "../../lib/scheduler/schedulerContract.js";
import { newSchedulerState } from "../../lib/scheduler/schedulerState.js";
import { startSimulator } from "../../lib/simulator/simulator.js";
import { freeLoopbackHost } from "../support/loopbackHost.js";
import { replicaWants } from "../scheduler/replicaPods.js";

const { values } = parseArgs({
  options: {
    "time-scale": { type: "string", default: "20" },
    runs: { type: "string", default: "3" },
    pods: { type: "string", default: "200" },
    deployments: { type: "string", default: "10" },
  },
});
const timeScale = Number(values["time-scale"]);
const runs = Number(values.runs);
const pods = Number(values.pods);
const deployments = Number(values.deployments);
for (const [name, value] of Object.entries({ "time-scale": timeScale, runs, pods, deployments })) {
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
}

function workloadWants(strategy: Strategy): WantConfiguration[] {
  const perDeployment = Math.ceil(pods / deployments);
  const wants = Array.from({ length: deployments }, (_, d) =>
    replicaWants({ name: `app${d}`, image: `contoso/app${d}:1.0` }, perDeployment, "bench-hub"),
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

async function runArm(strategy: Strategy, scale: number): Promise<ArmResult> {
  const realStart = Date.now();
  const hubNow = () => realStart + (Date.now() - realStart) * scale;
  const simulator = await startSimulator({
    hubName: "bench-hub",
    host: await freeLoopbackHost(),
    sku: "S1",
    units: 1,
    devices: [],
    evaluationIntervalMs: 3_600_000,
    now: () => new Date(hubNow()),
  });
  try {
    const connect = connectorFor(
      simulator.iotHubConnectionString,
      readFileSync(simulator.caCertPath, "utf8"),
    );
    const state = newSchedulerState(
      { hub: "bench-hub", budget: hubBudget("S1", 1), graceSeconds: 60 },
      hubNow(),
    );
    const wantedAt = new Map<string, number>();
    const landedAt = new Map<string, number>();
    for (const w of workloadWants(strategy)) {
      wantedAt.set(w.pod, hubNow());
      want(state, { ...w, notifyInstanceId: w.pod }, hubNow());
    }
    // The applier's loop (bounded): run what the planner hands out, sleep until it says.
    for (let round = 0; round < 10_000; round++) {
      const work = nextWork(state, hubNow());
      if (work.actions.length > 0) {
        const results = await Promise.all(
          work.actions.map((action: HubAction) => runHubAction(action, connect)),
        );
        for (const n of recordResults(state, results, hubNow()))
          if (n.event.state.phase === "OnHub") landedAt.set(n.instanceId, hubNow());
        continue;
      }
      if (work.wakeAt === undefined) break;
      const sleepMs = Math.max(0, (Date.parse(work.wakeAt) - hubNow()) / scale);
      await new Promise((resolve) => setTimeout(resolve, sleepMs));
    }
    const stats = simulator.stats;
    const landingSeconds = [...landedAt].map(([pod, at]) => (at - wantedAt.get(pod)!) / 1000);
    return {
      hubOperations: stats.admitted.configurations,
      throttled: stats.throttled.configurations,
      podsFailed: wantedAt.size - landedAt.size,
      landingSeconds,
      allOnHubSeconds: Math.max(0, ...landingSeconds),
    };
  } finally {
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
      `${r.podsFailed}/${pods}`,
    ]);
  }
}
const header = [
  "strategy",
  "time scale",
  "run",
  "hub ops",
  "429s",
  "median s",
  "p99 s",
  "last on hub s",
  "pods failed",
];
const widths = header.map((h, i) => Math.max(h.length, ...rows.map((row) => row[i]!.length)));
const line = (cells: string[]) => `| ${cells.map((c, i) => c.padEnd(widths[i]!)).join(" | ")} |`;
console.log(
  `${pods} pods from ${deployments} Deployments, S1 x 1 (20 configuration operations/min, 100 deployments); ` +
    "durations in hub seconds from want to configuration on the hub",
);
console.log(line(header));
console.log(line(widths.map((w) => "-".repeat(w))));
for (const row of rows) console.log(line(row));
console.log(
  "pods failed: never on the hub (HubDeploymentLimit: the hub holds 100 deployments); " +
    "median/p99 over the pods that landed",
);
