// bench:rollout — a rolling update of a 10-replica Deployment across simulated devices, staged (the
// default) side by side with `iotedge.connector/rollout: all-at-once`, on the real control plane with
// the chart, the adapter as its own process and the Functions app on the local host (the pieces of
// test/adapter/e2e.stagedRollout.test.ts, shared in dev/connector/stagedRollout.ts). The simulator
// serves the `unlimited` SKU, evaluates deployments every 500 ms and starts a module in about 30 ms
// (the e2e's timings): the times are the connector's and the Deployment controller's, not a real
// hub's evaluation cadence. Per mode: the stages seen on the hub, the configuration operations from
// `kubectl set image` until the old configuration is deleted, the time until `kubectl rollout
// status` completes and until every device runs the new image (watched during the rollout: all at
// once gets there long before its replicas have all been Ready for minReadySeconds). Each mode gets a Deployment of its
// own on the same stack, the one before deleted and gone from the hub first. Progress goes to
// stderr as it happens (a slow run still shows where it is); the figures to stdout at the end.
//   npm run bench:rollout [-- --devices 1000 --replicas 10]
import { parseArgs } from "node:util";
import { setTimeout as sleep } from "node:timers/promises";
import { rolloutOperations } from "../lib/rollout/rolloutStage.js";
import { startSimulator } from "../dev/simulator/simulator.js";
import { freeLoopbackHost } from "../dev/simulator/loopbackHost.js";
import {
  devicesRunningImage,
  hubStages,
  rolloutFleet,
  rolloutStatus,
  sensorRolloutDeployment,
} from "../dev/connector/stagedRollout.js";
import { startConnectorStack } from "../dev/connector/connectorStack.js";
import { trustsLocalCa } from "./trustLocalCa.js";
import { wholeNumber } from "./support/wholeNumber.js";

const HUB = "bench-hub";
const NODE = "vk-rollout";
const IMAGE_1 = "mcr.microsoft.com/azureiotedge-simulated-temperature-sensor:1.5";
const IMAGE_2 = "mcr.microsoft.com/azureiotedge-simulated-temperature-sensor:1.5.1";
const POLL_MS = 500;
/** how long one step may wait before the run fails with what it saw */
const STEP_LIMIT_MS = 10 * 60_000;
/** how often a step that is still waiting says so */
const WAITING_NOTE_MS = 15_000;

const { values } = parseArgs({
  options: {
    devices: { type: "string", default: "200" },
    replicas: { type: "string", default: "10" },
  },
});
const deviceCount = wholeNumber("devices", values.devices, 9_999);
const replicas = wholeNumber("replicas", values.replicas, 100);

const runStartedAt = performance.now();
const seconds = (ms: number) => (ms / 1000).toFixed(1);
function progress(text: string): void {
  process.stderr.write(`[${seconds(performance.now() - runStartedAt).padStart(6)} s] ${text}\n`);
}

/** One run on a fresh simulator and stack: staged, then all at once; the figures to stdout. */
async function run(): Promise<void> {
  progress(`starting the simulator with ${deviceCount} devices`);
  const { devices } = rolloutFleet(deviceCount);
  const simulator = await startSimulator({
    hubName: HUB,
    host: await freeLoopbackHost(),
    sku: "unlimited",
    evaluationIntervalMs: 500,
    runtimeStepMs: 20,
    runtime: { imagePullMs: 30, crashAfterMs: 60, backoffBaseMs: 40, backoffMaxMs: 400 },
    devices,
  });
  progress("starting the control plane, the chart, the adapter and the app");
  const stack = await startConnectorStack({ simulator, hub: HUB, node: NODE });
  const { cluster, hub } = stack;
  progress("stack up");

  /** Polls `check` until it says done; says every WAITING_NOTE_MS what it last saw. */
  async function until(what: string, check: () => Promise<{ done: boolean; saw: string }>): Promise<void> {
    const startedAt = performance.now();
    let noted = startedAt;
    for (;;) {
      const { done, saw } = await check();
      if (done) return;
      const now = performance.now();
      if (now - startedAt > STEP_LIMIT_MS) throw new Error(`gave up waiting for ${what}; last: ${saw}`);
      if (now - noted >= WAITING_NOTE_MS) {
        progress(`  still waiting for ${what} (${seconds(now - startedAt)} s): ${saw}`);
        noted = now;
      }
      await sleep(POLL_MS);
    }
  }
  const workloadConfigurations = async () =>
    (await hub.listConfigurations()).filter((c) => c.labels?.["k8s-namespace"] === "default").length;
  const everyDeviceRuns = (image: string) =>
    until(`every device on ${image}`, async () => {
      await simulator.fleet.evaluateNow();
      const running = (await devicesRunningImage(hub, image)).size;
      return { done: running === deviceCount, saw: `${running}/${deviceCount} devices` };
    });
  const configurationOperations = () =>
    (simulator.stats.operations.addOrUpdateConfiguration ?? 0) +
    (simulator.stats.operations.removeConfiguration ?? 0);

  interface ModeResult {
    mode: "staged" | "all-at-once";
    stages: number[];
    operations: number;
    rolloutStatusMs: number;
    everyDeviceMs: number;
  }

  async function measure(mode: ModeResult["mode"]): Promise<ModeResult> {
    const name = `sensor-${mode}`;
    progress(`${mode}: applying ${name} (${replicas} replicas) on ${IMAGE_1}`);
    await cluster.kubectl(
      ["apply", "--filename=-"],
      sensorRolloutDeployment({ name, image: IMAGE_1, replicas, rollout: mode }),
    );
    // A first rollout over many devices may outlast the progress deadline: only the update is measured.
    await until(`${name} available`, async () => {
      const { stdout } = await cluster.kubectl([
        "get",
        `deployment/${name}`,
        "--output=jsonpath={.status.availableReplicas}",
      ]);
      const available = Number(stdout.trim());
      return { done: available === replicas, saw: `${available}/${replicas} replicas available` };
    });
    await everyDeviceRuns(IMAGE_1);
    progress(`${mode}: every device on ${IMAGE_1}; kubectl set image`);

    const stages: number[] = [];
    let done = false;
    /** when the watch first saw every device on the new image (it may come before rollout status) */
    let everyDeviceMs: number | undefined;
    const operationsBefore = configurationOperations();
    const startedAt = performance.now();
    // Stages and devices are watched while the rollout runs, without forcing the simulator's
    // evaluation (it evaluates every 500 ms on its own): the devices' pace is the rollout's.
    const watch = (async () => {
      let lastDeviceCheck = 0;
      while (!done) {
        const [stage] = await hubStages(hub);
        if (stage !== undefined && stage !== stages.at(-1)) {
          stages.push(stage);
          progress(`${mode}: stage ${stage} % on the hub, ${seconds(performance.now() - startedAt)} s`);
        }
        if (everyDeviceMs === undefined && performance.now() - lastDeviceCheck >= 1_000) {
          lastDeviceCheck = performance.now();
          if ((await devicesRunningImage(hub, IMAGE_2)).size === deviceCount) {
            everyDeviceMs = performance.now() - startedAt;
            progress(`${mode}: every device on ${IMAGE_2}, ${seconds(everyDeviceMs)} s`);
          }
        }
        await sleep(100);
      }
    })();
    await cluster.kubectl(["set", "image", `deployment/${name}`, `sensor=${IMAGE_2}`]);
    const status = await rolloutStatus(cluster, name, STEP_LIMIT_MS / 1000);
    const rolloutStatusMs = performance.now() - startedAt;
    done = true;
    await watch;
    if (!status.ok) throw new Error(`${name} update did not complete: ${status.text}`);
    progress(`${mode}: rollout status done, ${seconds(rolloutStatusMs)} s`);
    if (everyDeviceMs === undefined) {
      await everyDeviceRuns(IMAGE_2);
      everyDeviceMs = performance.now() - startedAt;
      progress(`${mode}: every device on ${IMAGE_2}, ${seconds(everyDeviceMs)} s`);
    }
    await until("the old configuration deleted", async () => {
      const count = await workloadConfigurations();
      return { done: count === 1, saw: `${count} configurations` };
    });
    const operations = configurationOperations() - operationsBefore;

    progress(`${mode}: deleting ${name}`);
    await cluster.kubectl(["delete", `deployment/${name}`, "--wait=true"]);
    await until("the workload gone from the hub", async () => {
      const count = await workloadConfigurations();
      return { done: count === 0, saw: `${count} configurations` };
    });
    return { mode, stages, operations, rolloutStatusMs, everyDeviceMs };
  }

  try {
    const results = [await measure("staged"), await measure("all-at-once")];
    console.log(
      `bench:rollout — ${deviceCount} devices, a ${replicas}-replica Deployment (maxSurge 1, maxUnavailable 0, minReadySeconds 5), one image update`,
    );
    console.log("mode          stages  config ops (bound)  rollout status s  every device s");
    for (const r of results) {
      const bound = r.mode === "staged" ? `(${rolloutOperations(r.stages.length)})` : "";
      console.log(
        `${r.mode.padEnd(12)}  ${String(r.stages.length).padStart(6)}  ${`${r.operations} ${bound}`.padEnd(18)}  ${seconds(r.rolloutStatusMs).padStart(16)}  ${seconds(r.everyDeviceMs).padStart(14)}`,
      );
    }
    const staged = results[0];
    if (staged) console.log(`staged stages (buckets reached): ${staged.stages.join(", ")}`);
  } finally {
    progress("stopping");
    await stack.stop();
    await simulator.stop();
  }
}

// the simulator's certificate comes from a local CA that node trusts only from its start
if (await trustsLocalCa()) await run();
