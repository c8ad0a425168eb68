// Reads a pod's owner (its controller) from the cluster, for the retention rule's question whether a
// hold still has an owner that wants pods (retention.ts). Get only, on the kinds the chart grants.
import { AppsV1Api, BatchV1Api, CoreV1Api, type KubeConfig } from "@kubernetes/client-node";
import { isNotFound } from "./kubeErrors.js";
import type { OwnerObject } from "./retention.js";

/** The owner, or undefined when it does not exist; a kind it does not read is "unread". */
export type OwnerLookup = (
  kind: string,
  namespace: string,
  name: string,
) => Promise<OwnerObject | undefined | "unread">;

export function ownerLookup(kubeConfig: KubeConfig): OwnerLookup {
  const apps = kubeConfig.makeApiClient(AppsV1Api);
  const batch = kubeConfig.makeApiClient(BatchV1Api);
  const core = kubeConfig.makeApiClient(CoreV1Api);
  const readers: Record<string, (ref: { namespace: string; name: string }) => Promise<unknown>> = {
    ReplicaSet: (ref) => apps.readNamespacedReplicaSet(ref),
    StatefulSet: (ref) => apps.readNamespacedStatefulSet(ref),
    DaemonSet: (ref) => apps.readNamespacedDaemonSet(ref),
    ReplicationController: (ref) => core.readNamespacedReplicationController(ref),
    Job: (ref) => batch.readNamespacedJob(ref),
  };
  return async (kind, namespace, name) => {
    const read = readers[kind];
    if (read === undefined) return "unread";
    try {
      return (await read({ namespace, name })) as OwnerObject;
    } catch (error) {
      if (isNotFound(error)) return undefined;
      throw error;
    }
  };
}
