// Issue 17 end to end: a staged rollout whose first stage holds no device goes on. Three devices in
// rollout buckets 46, 79 and 98 and a 3-replica Deployment: the first stage reaches buckets 0-33,
// where no device is, and its replica must still turn Ready once the app has counted that stage's
// target condition, or the Deployment controller never goes on. The stack (real control plane,
// chart, adapter process, local app) is the staged rollout's (dev/connector/stagedRollout.ts).
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ROLLOUT_BUCKET_TAG, rolloutBucket } from "../../lib/rollout/rolloutBucket.js";
import { rolloutOperations, stagePercent } from "../../lib/rollout/rolloutStage.js";
import type { RunningSimulator } from "../../dev/simulator/simulator.js";
import {
  devicesRunningImage,
  hubStages,
  rolloutStatus,
  sensorRolloutDeployment,
} from "../../dev/connector/stagedRollout.js";
import { startConnectorStack, type ConnectorStack } from "../../dev/connector/connectorStack.js";
import { startTestSimulator } from "../support/testSimulator.js";
import { eventually } from "./support/eventually.js";

const HUB = "hub1";
const NODE = "vk-empty-stage";
const NAME = "sensor";
const REPLICAS = 3;
const POLL = { attempts: 300, intervalMs: 300 };
const IMAGE_1 = "mcr.microsoft.com/azureiotedge-simulated-temperature-sensor:1.5";
const IMAGE_2 = "mcr.microsoft.com/azureiotedge-simulated-temperature-sensor:1.5.1";
const deviceIds = ["dev-1", "dev-2", "dev-3"];
const FIRST_STAGE = stagePercent({ newReplicas: 1, oldReplicas: REPLICAS, desiredReplicas: REPLICAS });

describe("a staged rollout whose first stage holds no device, end to end", { timeout: 240_000 }, () => {
  let simulator: RunningSimulator;
  let stack: ConnectorStack | undefined;

  const hubOperations = () =>
    (simulator.stats.operations.addOrUpdateConfiguration ?? 0) +
    (simulator.stats.operations.removeConfiguration ?? 0);
  const everyDeviceRuns = (image: string) =>
    eventually(async () => {
      await simulator.fleet.evaluateNow();
      expect([...(await devicesRunningImage(stack!.hub, image))].sort()).toEqual(deviceIds);
    }, POLL);
  const deployment = (image: string) =>
    sensorRolloutDeployment({ name: NAME, image, replicas: REPLICAS, rollout: "staged" });

  beforeAll(async () => {
    simulator = await startTestSimulator({
      hubName: HUB,
      evaluationIntervalMs: 200,
      devices: deviceIds.map((deviceId) => ({
        deviceId,
        tags: { environment: "dev", [ROLLOUT_BUCKET_TAG]: rolloutBucket(deviceId) },
      })),
    });
    stack = await startConnectorStack({ simulator, hub: HUB, node: NODE });
    await stack.cluster.kubectl(["apply", "--filename=-"], deployment(IMAGE_1));
    expect((await rolloutStatus(stack.cluster, NAME, 120)).ok).toBe(true);
    await everyDeviceRuns(IMAGE_1);
  });

  afterAll(async () => {
    await stack?.stop();
    await simulator?.stop();
  });

  it("an image update goes through a first stage that reaches no device and ends on every device", async () => {
    const { cluster, hub } = stack!;
    // the premise: the first stage's buckets hold none of the devices
    expect(FIRST_STAGE).toBe(34);
    expect(Math.min(...deviceIds.map(rolloutBucket))).toBeGreaterThanOrEqual(FIRST_STAGE);

    const operationsBefore = hubOperations();
    const stages = new Set<number>();
    let done = false;
    const watching = (async () => {
      while (!done) {
        for (const stage of await hubStages(hub)) stages.add(stage);
        await new Promise((resolve) => setTimeout(resolve, 200));
      }
    })();
    await cluster.kubectl(["set", "image", `deployment/${NAME}`, `sensor=${IMAGE_2}`]);
    const rollout = await rolloutStatus(cluster, NAME, 120);
    done = true;
    await watching;

    expect(rollout.ok, rollout.text).toBe(true);
    await everyDeviceRuns(IMAGE_2);
    // every stage the hub held was a partial one of this rollout, the empty one included if it was seen
    for (const stage of stages) expect([FIRST_STAGE, 67]).toContain(stage);
    expect(hubOperations() - operationsBefore).toBeLessThanOrEqual(rolloutOperations(2));
  });
});
