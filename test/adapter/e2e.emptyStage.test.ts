// Issue 17 end to end: a staged rollout whose first stage holds no device goes on. Three devices in
// rollout buckets 46, 79 and 98 and a 3-replica Deployment: the first stage reaches buckets 0-33,
// where no device is, and its replica must still turn Ready once the app has counted that stage's
// target condition, or the Deployment controller never goes on. On the real control plane with the
// chart installed, the adapter as its own process and the Functions app on the local host; the
// devices' bucket tags are seeded with the product's rule (lib/rollout/rolloutBucket.ts).
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createHubClient } from "../../lib/hub/createHubClient.js";
import type { HubClient } from "../../lib/hub/hubClient.js";
import { ROLLOUT_BUCKET_TAG, rolloutBucket } from "../../lib/rollout/rolloutBucket.js";
import { rolloutOperations, stagePercent } from "../../lib/rollout/rolloutStage.js";
import type { RunningSimulator } from "../../dev/simulator/simulator.js";
import { startControlPlane, type ControlPlane } from "../../dev/cluster/controlPlane.js";
import { installChartForAdapter } from "../../dev/connector/installedAdapter.js";
import { startLocalApp, type LocalApp } from "../../dev/connector/localApp.js";
import { startTestSimulator } from "../support/testSimulator.js";
import { startAdapterProcess } from "./support/adapterProcess.js";
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

/** One new replica at a time and none unavailable: stages of 34 %, 67 %, then the whole scope. */
function deployment(image: string): string {
  return `apiVersion: apps/v1
kind: Deployment
metadata: { name: ${NAME}, namespace: default }
spec:
  replicas: ${REPLICAS}
  progressDeadlineSeconds: 60
  strategy: { type: RollingUpdate, rollingUpdate: { maxSurge: 1, maxUnavailable: 0 } }
  selector: { matchLabels: { app: ${NAME} } }
  template:
    metadata:
      labels: { app: ${NAME} }
      annotations:
        iotedge.connector/rollout: staged
        iotedge.connector/target-condition: "tags.environment='dev'"
    spec:
      nodeSelector: { type: virtual-kubelet }
      tolerations:
        - { key: virtual-kubelet.io/provider, operator: Equal, value: iotedge, effect: NoSchedule }
      containers:
        - name: sensor
          image: ${image}
`;
}

const STAGE = new RegExp(`tags\\.${ROLLOUT_BUCKET_TAG} < (\\d+)$`);

describe("a staged rollout whose first stage holds no device, end to end", { timeout: 240_000 }, () => {
  let cluster: ControlPlane;
  let simulator: RunningSimulator;
  let app: LocalApp;
  let hub: HubClient;
  let adapter: ReturnType<typeof startAdapterProcess> | undefined;
  let dir: string;

  /** Devices whose edgeAgent reports the sensor module running this image. */
  const runningImage = async (image: string): Promise<string[]> => {
    const query = `SELECT deviceId FROM devices.modules WHERE moduleId = '$edgeAgent' AND properties.reported.modules.sensor.settings.image = '${image}' AND properties.reported.modules.sensor.runtimeStatus = 'running'`;
    const devices: string[] = [];
    for await (const page of hub.queryTwins(query)) for (const twin of page) devices.push(twin.deviceId);
    return devices.sort();
  };
  /** The stage (buckets reached) of the workload's staged configuration on the hub, if one is staged. */
  const hubStages = async (): Promise<number[]> =>
    (await hub.listConfigurations())
      .filter((c) => c.labels?.["k8s-namespace"] === "default")
      .map((c) => STAGE.exec(c.targetCondition ?? "")?.[1])
      .filter((n): n is string => n !== undefined)
      .map(Number);
  const hubOperations = () =>
    (simulator.stats.operations.addOrUpdateConfiguration ?? 0) +
    (simulator.stats.operations.removeConfiguration ?? 0);
  const rolloutStatus = (timeoutSeconds: number) =>
    cluster.kubectl(["rollout", "status", `deployment/${NAME}`, `--timeout=${timeoutSeconds}s`]).then(
      (out) => ({ ok: true, text: out.stdout }),
      (error: unknown) => ({ ok: false, text: String((error as { stderr?: string }).stderr ?? error) }),
    );
  const everyDeviceRuns = (image: string) =>
    eventually(async () => {
      await simulator.fleet.evaluateNow();
      expect(await runningImage(image)).toEqual(deviceIds);
    }, POLL);

  beforeAll(async () => {
    dir = await mkdtemp(path.join(tmpdir(), "e2e-empty-stage-"));
    [cluster, simulator] = await Promise.all([
      startControlPlane(),
      startTestSimulator({
        hubName: HUB,
        evaluationIntervalMs: 200,
        devices: deviceIds.map((deviceId) => ({
          deviceId,
          tags: { environment: "dev", [ROLLOUT_BUCKET_TAG]: rolloutBucket(deviceId) },
        })),
      }),
    ]);
    app = await startLocalApp({
      hubs: [{ name: HUB, simulator }],
      nodes: [{ node: NODE, hub: HUB }],
      releaseGraceSeconds: 2,
    });
    hub = createHubClient(simulator.iotHubConnectionString);
    const { adapterArgs } = await installChartForAdapter({
      cluster,
      dir,
      node: NODE,
      hub: HUB,
      providerUrl: `${app.url}/api`,
      key: app.node(NODE).key,
    });
    adapter = startAdapterProcess(adapterArgs);
    await cluster.kubectl(["apply", "--filename=-"], deployment(IMAGE_1));
    expect((await rolloutStatus(120)).ok).toBe(true);
    await everyDeviceRuns(IMAGE_1);
  });

  afterAll(async () => {
    await adapter?.terminate();
    hub?.close();
    await app?.stop();
    await simulator?.stop();
    await cluster?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it("an image update goes through a first stage that reaches no device and ends on every device", async () => {
    // the premise: the first stage's buckets hold none of the devices
    expect(FIRST_STAGE).toBe(34);
    expect(Math.min(...deviceIds.map(rolloutBucket))).toBeGreaterThanOrEqual(FIRST_STAGE);

    const operationsBefore = hubOperations();
    const stages = new Set<number>();
    let done = false;
    const watching = (async () => {
      while (!done) {
        for (const stage of await hubStages()) stages.add(stage);
        await new Promise((resolve) => setTimeout(resolve, 200));
      }
    })();
    await cluster.kubectl(["set", "image", `deployment/${NAME}`, `sensor=${IMAGE_2}`]);
    const rollout = await rolloutStatus(120);
    done = true;
    await watching;

    expect(rollout.ok, rollout.text).toBe(true);
    await everyDeviceRuns(IMAGE_2);
    // every stage the hub held was a partial one of this rollout, the empty one included if it was seen
    for (const stage of stages) expect([FIRST_STAGE, 67]).toContain(stage);
    expect(hubOperations() - operationsBefore).toBeLessThanOrEqual(rolloutOperations(2));
  });
});
