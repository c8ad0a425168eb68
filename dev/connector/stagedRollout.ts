// The pieces of a staged rollout run on the connector stack (./connectorStack.ts) against the
// simulator, shared by the end-to-end tests and benchmarks: a fleet whose devices carry their rollout
// bucket tag (seeded with the product's rule, as the tagger would write it), the sensor Deployment,
// and what the hub and kubectl say of the rollout.
import type { HubClient } from "../../lib/hub/hubClient.js";
import { ROLLOUT_BUCKET_TAG, rolloutBucket } from "../../lib/rollout/rolloutBucket.js";
import type { ControlPlane } from "../cluster/controlPlane.js";

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
