// Issue 17 end to end: a Deployment's rolling update moves across a fleet of simulated devices in
// stages paced by Kubernetes' own Deployment controller, on the real control plane with the chart
// installed, the adapter as its own process and the Functions app on the local host. The devices'
// rollout bucket tags are seeded with the product's rule (lib/rollout/rolloutBucket.ts); the
// tagger that writes them has its own tests.
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createHubClient } from "../../lib/hub/createHubClient.js";
import type { HubClient } from "../../lib/hub/hubClient.js";
import { ROLLOUT_BUCKET_TAG, rolloutBucket } from "../../lib/rollout/rolloutBucket.js";
import { rolloutOperations } from "../../lib/rollout/rolloutStage.js";
import type { RunningSimulator } from "../../dev/simulator/simulator.js";
import { startControlPlane, type ControlPlane } from "../../dev/cluster/controlPlane.js";
import { installChartForAdapter } from "../../dev/connector/installedAdapter.js";
import { podsSelected, startLocalApp, type LocalApp } from "../../dev/connector/localApp.js";
import { startTestSimulator } from "../support/testSimulator.js";
import { startAdapterProcess } from "./support/adapterProcess.js";
import { eventually } from "./support/eventually.js";

const HUB = "hub1";
const NODE = "vk-staged";
const NAME = "sensor";
const DEVICES = Number(process.env.STAGED_ROLLOUT_DEVICES ?? 1_000);
const POLL = { attempts: 400, intervalMs: 300 };
const IMAGE_1 = "mcr.microsoft.com/azureiotedge-simulated-temperature-sensor:1.5";
const IMAGE_2 = "mcr.microsoft.com/azureiotedge-simulated-temperature-sensor:1.5.1";
const CRASHING = "mcr.microsoft.com/azureiotedge-simulated-temperature-sensor:1.5.2-crashes";
const deviceIds = Array.from({ length: DEVICES }, (_, n) => `edge-${String(n + 1).padStart(4, "0")}`);

/**
 * 10 replicas, one new at a time and none unavailable: the Deployment moves in 10 % steps. A module
 * reports running before it crashes (the simulator's crash comes 1 s after the start), so a replica
 * counts as available only once its stage has been healthy for minReadySeconds, as in any cluster.
 */
function deployment(image: string): string {
  return `apiVersion: apps/v1
kind: Deployment
metadata: { name: ${NAME}, namespace: default }
spec:
  replicas: 10
  minReadySeconds: 5
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

describe("a staged rollout across the fleet, end to end", { timeout: 480_000 }, () => {
  let cluster: ControlPlane;
  let simulator: RunningSimulator;
  let app: LocalApp;
  let hub: HubClient;
  let adapter: ReturnType<typeof startAdapterProcess> | undefined;
  let dir: string;
  /** the image the fleet runs between the tests */
  let stable = IMAGE_1;

  /** Devices whose edgeAgent reports the sensor module running this image. */
  const runningImage = async (image: string): Promise<Set<string>> => {
    const query = `SELECT deviceId FROM devices.modules WHERE moduleId = '$edgeAgent' AND properties.reported.modules.sensor.settings.image = '${image}' AND properties.reported.modules.sensor.runtimeStatus = 'running'`;
    const devices = new Set<string>();
    for await (const page of hub.queryTwins(query)) for (const twin of page) devices.add(twin.deviceId);
    return devices;
  };
  /** The stage (buckets reached) of the workload's staged configuration on the hub, if one is staged. */
  const hubStages = async (): Promise<number[]> =>
    (await hub.listConfigurations())
      .filter((c) => c.labels?.["k8s-namespace"] === "default")
      .map((c) => STAGE.exec(c.targetCondition ?? "")?.[1])
      .filter((n): n is string => n !== undefined)
      .map(Number);
  const setImage = (image: string) =>
    cluster.kubectl(["set", "image", `deployment/${NAME}`, `sensor=${image}`]);
  const rolloutStatus = (timeoutSeconds: number) =>
    cluster.kubectl(["rollout", "status", `deployment/${NAME}`, `--timeout=${timeoutSeconds}s`]).then(
      (out) => ({ ok: true, text: out.stdout }),
      (error: unknown) => ({ ok: false, text: String((error as { stderr?: string }).stderr ?? error) }),
    );
  const everyDeviceRuns = (image: string) =>
    eventually(async () => {
      await simulator.fleet.evaluateNow();
      expect((await runningImage(image)).size).toBe(DEVICES);
    }, POLL);

  beforeAll(async () => {
    dir = await mkdtemp(path.join(tmpdir(), "e2e-staged-"));
    [cluster, simulator] = await Promise.all([
      startControlPlane(),
      startTestSimulator({
        hubName: HUB,
        evaluationIntervalMs: 500,
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
    const created = await rolloutStatus(120);
    expect(created.ok, created.text).toBe(true);
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
