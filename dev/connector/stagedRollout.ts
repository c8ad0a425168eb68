// The pieces of a staged rollout run on the real control plane against the simulator, shared by the
// end-to-end test (test/adapter/e2e.stagedRollout.test.ts) and benchmarks: a fleet whose devices
// carry their rollout bucket tag (seeded with the product's rule, as the tagger would write it), the
// whole stack (control plane, chart, adapter process, Functions app on the local host), the sensor
// Deployment, and what the hub and kubectl say of the rollout.
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { createHubClient } from "../../lib/hub/createHubClient.js";
import type { HubClient } from "../../lib/hub/hubClient.js";
import { ROLLOUT_BUCKET_TAG, rolloutBucket } from "../../lib/rollout/rolloutBucket.js";
import { startControlPlane, type ControlPlane } from "../cluster/controlPlane.js";
import type { RunningSimulator } from "../simulator/simulator.js";
import { startAdapterProcess } from "./adapterProcess.js";
import { installChartForAdapter } from "./installedAdapter.js";
import { startLocalApp } from "./localApp.js";

/**
 * The control plane with the chart for one virtual node of the simulator's hub, the adapter as its
 * own process and the app on the local host (released configurations deleted after 2 s). `stop`
 * ends what was started here, in reverse; the simulator stays the caller's.
 */
export async function startRolloutStack(options: { simulator: RunningSimulator; hub: string; node: string }) {
  const { simulator, hub: hubName, node } = options;
  const dir = await mkdtemp(path.join(tmpdir(), "staged-rollout-"));
  const cluster = await startControlPlane();
  const app = await startLocalApp({
    hubs: [{ name: hubName, simulator }],
    nodes: [{ node, hub: hubName }],
    releaseGraceSeconds: 2,
  });
  const hub = createHubClient(simulator.iotHubConnectionString);
  const { adapterArgs } = await installChartForAdapter({
    cluster,
    dir,
    node,
    hub: hubName,
    providerUrl: `${app.url}/api`,
    key: app.node(node).key,
  });
  const adapter = startAdapterProcess(adapterArgs);
  return {
    cluster,
    app,
    hub,
    adapter,
    async stop(): Promise<void> {
      await adapter.terminate();
      hub.close();
      await app.stop();
      await cluster.stop();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

export type RolloutStack = Awaited<ReturnType<typeof startRolloutStack>>;

/** `edge-0001` ... : the devices of a rollout fleet, tagged `environment: dev` and with their bucket. */
export function rolloutFleet(count: number) {
  const deviceIds = Array.from({ length: count }, (_, n) => `edge-${String(n + 1).padStart(4, "0")}`);
  const devices = deviceIds.map((deviceId) => ({
    deviceId,
    tags: { environment: "dev", [ROLLOUT_BUCKET_TAG]: rolloutBucket(deviceId) },
  }));
  return { deviceIds, devices };
}

/**
 * A Deployment of one `sensor` container on the virtual nodes of the `environment='dev'` devices,
 * one new replica at a time and none unavailable: 10 replicas move in 10 % steps. A module reports
 * running before it crashes (the simulator's crash comes 1 s after the start), so a replica counts
 * as available only once its stage has been healthy for minReadySeconds, as in any cluster.
 */
export function sensorRolloutDeployment(options: {
  name: string;
  image: string;
  replicas: number;
  rollout: "staged" | "all-at-once";
}): string {
  return `apiVersion: apps/v1
kind: Deployment
metadata: { name: ${options.name}, namespace: default }
spec:
  replicas: ${options.replicas}
  minReadySeconds: 5
  progressDeadlineSeconds: 60
  strategy: { type: RollingUpdate, rollingUpdate: { maxSurge: 1, maxUnavailable: 0 } }
  selector: { matchLabels: { app: ${options.name} } }
  template:
    metadata:
      labels: { app: ${options.name} }
      annotations:
        iotedge.connector/rollout: ${options.rollout}
        iotedge.connector/target-condition: "tags.environment='dev'"
    spec:
      nodeSelector: { type: virtual-kubelet }
      tolerations:
        - { key: virtual-kubelet.io/provider, operator: Equal, value: iotedge, effect: NoSchedule }
      containers:
        - name: sensor
          image: ${options.image}
`;
}

const STAGE = new RegExp(`tags\\.${ROLLOUT_BUCKET_TAG} < (\\d+)$`);

/** The stages (buckets reached) of the `default` namespace's staged configurations on the hub. */
export async function hubStages(hub: HubClient): Promise<number[]> {
  return (await hub.listConfigurations())
    .filter((c) => c.labels?.["k8s-namespace"] === "default")
    .map((c) => STAGE.exec(c.targetCondition ?? "")?.[1])
    .filter((n): n is string => n !== undefined)
    .map(Number);
}

/** Devices whose edgeAgent reports the sensor module running this image. */
export async function devicesRunningImage(hub: HubClient, image: string): Promise<Set<string>> {
  const query = `SELECT deviceId FROM devices.modules WHERE moduleId = '$edgeAgent' AND properties.reported.modules.sensor.settings.image = '${image}' AND properties.reported.modules.sensor.runtimeStatus = 'running'`;
  const devices = new Set<string>();
  for await (const page of hub.queryTwins(query)) for (const twin of page) devices.add(twin.deviceId);
  return devices;
}

/** `kubectl rollout status`: whether the rollout completed within the timeout, and what kubectl said. */
export function rolloutStatus(
  cluster: ControlPlane,
  name: string,
  timeoutSeconds: number,
): Promise<{ ok: boolean; text: string }> {
  return cluster.kubectl(["rollout", "status", `deployment/${name}`, `--timeout=${timeoutSeconds}s`]).then(
    (out) => ({ ok: true, text: out.stdout }),
    (error: unknown) => ({ ok: false, text: String((error as { stderr?: string }).stderr ?? error) }),
  );
}
