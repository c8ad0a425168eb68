// Replica pods of a Deployment as the cluster makes them, translated by the real translator into the
// `want` operations a pod orchestration sends the scheduler.
import type { V1Pod } from "@kubernetes/client-node";
import type { WantConfiguration } from "../../lib/scheduler/schedulerContract.js";
import { podToDeployment } from "../../lib/translate/index.js";

export interface Workload {
  name: string;
  image: string;
  /** IoT Hub device query; default every dev device */
  targetCondition?: string;
  namespace?: string;
  /** its one container (and module); default the workload's name, as two workloads on the same
   * devices may not both define a module of the same name (ModuleNameConflict) */
  container?: string;
}

/** The pod template hash changes with the template, as Kubernetes names ReplicaSets. */
function replicaSetName(workload: Workload): string {
  let hash = 0;
  for (const char of workload.image) hash = (hash * 31 + char.charCodeAt(0)) >>> 0;
  return `${workload.name}-${hash.toString(36).slice(0, 6)}`;
}

export function replicaPod(workload: Workload, index: number): V1Pod {
  const replicaSet = replicaSetName(workload);
  return {
    apiVersion: "v1",
    kind: "Pod",
    metadata: {
      name: `${replicaSet}-r${index}`,
      namespace: workload.namespace ?? "default",
      uid: `${replicaSet}-uid-${index}`,
      ownerReferences: [
        {
          apiVersion: "apps/v1",
          kind: "ReplicaSet",
          name: replicaSet,
          uid: `${replicaSet}-uid`,
          controller: true,
        },
      ],
      annotations: {
        "iotedge.connector/target-condition": workload.targetCondition ?? "tags.environment='dev'",
      },
    },
    spec: { containers: [{ name: workload.container ?? workload.name, image: workload.image }] },
  };
}

export function wantOf(pod: V1Pod, hubName: string, notifyInstanceId?: string): WantConfiguration {
  const translation = podToDeployment(pod, undefined, { hubName });
  const { namespace, name, uid } = pod.metadata!;
  return {
    pod: `${namespace}/${name}/${uid}`,
    node: `iot-edge-${hubName}`,
    configuration: translation.configuration,
    kind: translation.kind,
    modules: Object.fromEntries((pod.spec?.containers ?? []).map(({ name }) => [name, name])),
    ...(notifyInstanceId !== undefined && { notifyInstanceId }),
  };
}

/** `want`s of every replica of a Deployment. */
export function replicaWants(workload: Workload, replicas: number, hubName = "hub-a"): WantConfiguration[] {
  return Array.from({ length: replicas }, (_, index) => wantOf(replicaPod(workload, index), hubName));
}
