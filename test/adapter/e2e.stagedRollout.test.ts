// Issue 17 end to end: a Deployment's rolling update moves across a fleet of simulated devices in
// stages paced by Kubernetes' own Deployment controller, on the real control plane with the chart
// installed, the adapter as its own process and the Functions app on the local host. The devices'
// rollout bucket tags are seeded with the product's rule (lib/rollout/rolloutBucket.ts); the
// tagger that writes them has its own tests.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { HubClient } from "../../lib/hub/hubClient.js";
import { rolloutBucket } from "../../lib/rollout/rolloutBucket.js";
import { rolloutOperations } from "../../lib/rollout/rolloutStage.js";
import type { RunningSimulator } from "../../dev/simulator/simulator.js";
import type { ControlPlane } from "../../dev/cluster/controlPlane.js";
import { podsSelected } from "../../dev/connector/localApp.js";
import {
  devicesRunningImage,
  hubStages as hubStagesOf,
  rolloutFleet,
  rolloutStatus as rolloutStatusOf,
  sensorRolloutDeployment,
} from "../../dev/connector/stagedRollout.js";
import { startConnectorStack, type ConnectorStack } from "../../dev/connector/connectorStack.js";
import { startTestSimulator } from "../support/testSimulator.js";
import { eventually } from "./support/eventually.js";

const HUB = "hub1";
const NODE = "vk-staged";
const NAME = "sensor";
const DEVICES = Number(process.env.STAGED_ROLLOUT_DEVICES ?? 1_000);
const POLL = { attempts: 400, intervalMs: 300 };
const IMAGE_1 = "mcr.microsoft.com/azureiotedge-simulated-temperature-sensor:1.5";
const IMAGE_2 = "mcr.microsoft.com/azureiotedge-simulated-temperature-sensor:1.5.1";
const CRASHING = "mcr.microsoft.com/azureiotedge-simulated-temperature-sensor:1.5.2-crashes";
const { deviceIds, devices } = rolloutFleet(DEVICES);
const deployment = (image: string) =>
  sensorRolloutDeployment({ name: NAME, image, replicas: 10, rollout: "staged" });

describe("a staged rollout across the fleet, end to end", { timeout: 480_000 }, () => {
  let simulator: RunningSimulator;
  let stack: ConnectorStack | undefined;
  let cluster: ControlPlane;
  let hub: HubClient;
  /** the image the fleet runs between the tests */
  let stable = IMAGE_1;

  const runningImage = (image: string) => devicesRunningImage(hub, image);
  const hubStages = () => hubStagesOf(hub);
  const setImage = (image: string) =>
    cluster.kubectl(["set", "image", `deployment/${NAME}`, `sensor=${image}`]);
  const rolloutStatus = (timeoutSeconds: number) => rolloutStatusOf(cluster, NAME, timeoutSeconds);
  const everyDeviceRuns = (image: string) =>
    eventually(async () => {
      await simulator.fleet.evaluateNow();
      expect((await runningImage(image)).size).toBe(DEVICES);
    }, POLL);

  beforeAll(async () => {
    simulator = await startTestSimulator({ hubName: HUB, evaluationIntervalMs: 500, devices });
    stack = await startConnectorStack({ simulator, hub: HUB, node: NODE });
    ({ cluster, hub } = stack);
    await cluster.kubectl(["apply", "--filename=-"], deployment(IMAGE_1));
    const created = await rolloutStatus(120);
    expect(created.ok, created.text).toBe(true);
    await everyDeviceRuns(IMAGE_1);
  });

  afterAll(async () => {
    await stack?.stop();
    await simulator?.stop();
  });

  it("an image update moves in stages, each once the devices of the one before run the new image", async () => {
    const stages: number[] = [];
    /** per stage change: devices of the stage before that did not run the new image yet */
    const behind: { from: number; to: number; devices: string[] }[] = [];
    let done = false;
    const watch = (async () => {
      while (!done) {
        const [stage] = await hubStages();
        const previous = stages.at(-1);
        if (stage !== undefined && stage !== previous) {
          stages.push(stage);
          if (previous !== undefined) {
            const running = await runningImage(IMAGE_2);
            const devices = deviceIds.filter((id) => rolloutBucket(id) < previous && !running.has(id));
            behind.push({ from: previous, to: stage, devices });
          }
        }
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    })();
    const operations = () =>
      (simulator.stats.operations.addOrUpdateConfiguration ?? 0) +
      (simulator.stats.operations.removeConfiguration ?? 0);
    const operationsBefore = operations();
    const startedAt = Date.now();
    await setImage(IMAGE_2);
    const status = await rolloutStatus(360);
    done = true;
    await watch;
    expect(status.ok, status.text).toBe(true);
    expect(stages.length, `stages seen: ${stages.join(", ")}`).toBeGreaterThanOrEqual(5);
    expect([...stages].sort((a, b) => a - b)).toEqual(stages);
    expect(stages[0]).toBe(10);
    expect(behind.filter((change) => change.devices.length > 0)).toEqual([]);
    await everyDeviceRuns(IMAGE_2);
    stable = IMAGE_2;
    expect(await hubStages()).toEqual([]);
    // the old configuration deleted after its release grace: at most stages + 2 operations
    await eventually(async () => {
      const workload = (await hub.listConfigurations()).filter(
        (c) => c.labels?.["k8s-namespace"] === "default",
      );
      expect(workload).toHaveLength(1);
    }, POLL);
    const spent = operations() - operationsBefore;
    // the figures for docs/staged-rollouts.md
    console.info(
      `${DEVICES} devices: stages ${stages.join(", ")}; ${spent} configuration operations; rollout ${Date.now() - startedAt} ms`,
    );
    expect(spent).toBeLessThanOrEqual(rolloutOperations(stages.length));
  });

  it("a crash-looping image stays at its first stage, most devices on the old one, until the progress deadline", async () => {
    simulator.fleet.injectImageFault(CRASHING, "crash");
    await setImage(CRASHING);
    const status = await rolloutStatus(180);
    expect(status.ok).toBe(false);
    expect(status.text).toMatch(/exceeded its progress deadline/);
    const { stdout } = await cluster.kubectl([
      "get",
      `deployment/${NAME}`,
      "--output=jsonpath={.status.conditions[?(@.type=='Progressing')].status} {.status.conditions[?(@.type=='Progressing')].reason}",
    ]);
    expect(stdout.trim()).toBe("False ProgressDeadlineExceeded");
    expect(await hubStages()).toEqual([10]);
    await simulator.fleet.evaluateNow();
    const onOld = (await runningImage(stable)).size;
    expect(onOld / DEVICES).toBeGreaterThanOrEqual(0.9);
    const newPods = (await podsSelected(cluster, `app=${NAME}`)).filter(
      (pod) => pod.spec?.containers[0]?.image === CRASHING,
    );
    expect(newPods).toHaveLength(1);
    expect(newPods[0]?.status?.conditions?.find((c) => c.type === "Ready")?.status).toBe("False");
    // the old replicas count only the devices outside the stage: they stay Ready
    const oldPods = (await podsSelected(cluster, `app=${NAME}`)).filter(
      (pod) => pod.spec?.containers[0]?.image === stable,
    );
    expect(oldPods.map((pod) => pod.status?.conditions?.find((c) => c.type === "Ready")?.status)).toEqual(
      Array.from({ length: 10 }, () => "True"),
    );
  });

  it("kubectl rollout undo after the failed stage brings every device back and the rollout completes", async () => {
    await cluster.kubectl(["rollout", "undo", `deployment/${NAME}`]);
    const status = await rolloutStatus(120);
    expect(status.ok, status.text).toBe(true);
    await everyDeviceRuns(stable);
    expect(await hubStages()).toEqual([]);
    await eventually(async () => {
      const pods = await podsSelected(cluster, `app=${NAME}`);
      expect(pods.map((pod) => pod.spec?.containers[0]?.image)).toEqual(
        Array.from({ length: 10 }, () => stable),
      );
    }, POLL);
  });

  it("kubectl rollout pause holds the fleet at its stage, resume finishes the rollout", async () => {
    const next = stable === IMAGE_1 ? IMAGE_2 : IMAGE_1;
    await setImage(next);
    await eventually(async () => expect((await hubStages()).length).toBe(1), POLL);
    await cluster.kubectl(["rollout", "pause", `deployment/${NAME}`]);
    const replicaSet = async () => {
      const { stdout } = await cluster.kubectl([
        "get",
        "replicasets",
        `--selector=app=${NAME}`,
        "--output=jsonpath={range .items[*]}{.spec.template.spec.containers[0].image} {.spec.replicas} {.status.readyReplicas}{'\\n'}{end}",
      ]);
      const line = stdout.split("\n").find((row) => row.startsWith(`${next} `)) ?? "";
      const [, replicas, ready] = line.split(" ");
      return { replicas: Number(replicas), ready: Number(ready || 0) };
    };
    // Paused with its stage healthy (every new replica Ready), the controller would go on if it could.
    const held = await eventually(async () => {
      const now = await replicaSet();
      expect(now.replicas).toBeGreaterThan(0);
      expect(now.ready).toBe(now.replicas);
      const [stage] = await hubStages();
      expect(stage).toBeDefined();
      return { stage, replicas: now.replicas };
    }, POLL);
    expect(held.replicas).toBeLessThan(10);
    // Through several evaluations of the fleet and status rounds, neither the stage nor the ReplicaSet moves.
    for (let round = 0; round < 10; round++) {
      await simulator.fleet.evaluateNow();
      expect(await hubStages()).toEqual([held.stage]);
      expect((await replicaSet()).replicas).toBe(held.replicas);
      await new Promise((resolve) => setTimeout(resolve, 500));
    }
    const onOld = deviceIds.filter((id) => rolloutBucket(id) >= (held.stage as number));
    const runningNext = await runningImage(next);
    expect(onOld.filter((id) => runningNext.has(id))).toEqual([]);
    await cluster.kubectl(["rollout", "resume", `deployment/${NAME}`]);
    const status = await rolloutStatus(180);
    expect(status.ok, status.text).toBe(true);
    await everyDeviceRuns(next);
    stable = next;
    expect(await hubStages()).toEqual([]);
  });
});
