// The one place that decides whether a pod being deleted keeps its configuration on the devices
// (docs/adapter.md#evicted-pods). An eviction is no user intent: a pod deleted by the taint manager,
// or while its node was not Ready, is replaced by its ReplicaSet with a pod of the same template,
// which wants the same configuration. Releasing the evicted pod first would leave the configuration
// to the release grace; so its removal waits until the replacements are sent, or until its owner is
// deleted or scaled down, and only then is it removed as any other pod.
import type { V1Pod } from "@kubernetes/client-node";

/** When the node was not Ready before this adapter started writing its status (from the Node it found). */
export interface NotReadySpan {
  since: Date;
  until: Date;
}

/** The pod's controlling ReplicaSet (a Deployment's pods): the owner whose replacement is a new pod. */
export interface ReplicaSetRef {
  name: string;
  uid: string;
}

/** The ReplicaSet as read now; undefined when it no longer exists. */
export interface ReplicaSetNow {
  uid: string;
  replicas: number;
  deleting: boolean;
}

/** A pod with a deletionTimestamp that the taint manager deleted, or that was deleted while the node was not Ready. */
export function wasEvicted(pod: V1Pod, notReady: NotReadySpan | undefined): boolean {
  const disruption = pod.status?.conditions?.find(
    (c) => c.type === "DisruptionTarget" && c.status === "True",
  );
  if (disruption?.reason === "DeletionByTaintManager") return true;
  const { deletionTimestamp, deletionGracePeriodSeconds } = pod.metadata ?? {};
  if (notReady === undefined || deletionTimestamp === undefined) return false;
  // deletionTimestamp is the deletion request plus the grace period
  const requestedAt = new Date(deletionTimestamp).getTime() - (deletionGracePeriodSeconds ?? 0) * 1000;
  return requestedAt >= notReady.since.getTime() && requestedAt <= notReady.until.getTime();
}

export function replicaSetOf(pod: V1Pod): ReplicaSetRef | undefined {
  const owner = pod.metadata?.ownerReferences?.find((ref) => ref.controller === true);
  if (owner?.kind !== "ReplicaSet" || owner.apiVersion !== "apps/v1") return undefined;
  return { name: owner.name, uid: owner.uid };
}

/**
 * The rule. An evicted pod of a ReplicaSet keeps its configuration while that ReplicaSet still exists
 * (same uid, not being deleted) and fewer of its live pods than it wants have been sent to the
 * provider. Every other deleted pod (a user's delete, a scale-down, an update, a bare pod, another
 * kind of owner) releases it at once.
 */
export function keepsConfiguration(fact: {
  evicted: boolean;
  owner: ReplicaSetRef | undefined;
  ownerNow: ReplicaSetNow | undefined;
  /** live pods (no deletionTimestamp) of the same ReplicaSet on this node, sent and accepted */
  replacementsSent: number;
}): boolean {
  const { evicted, owner, ownerNow, replacementsSent } = fact;
  if (!evicted || owner === undefined || ownerNow === undefined) return false;
  if (ownerNow.uid !== owner.uid || ownerNow.deleting) return false;
  return replacementsSent < ownerNow.replicas;
}
