// The one place that decides whether a pod's leaving takes its workload off the devices. Only user
// intent does (a delete, a scale-down, an update); a pod that left because of the cluster's view of
// the node (evicted by the taint manager or the pod garbage collector, or deleted while the node was
// not Ready) hands its configurations to a hold for its owner instead, and the hold ends when the
// owner is really gone or scaled down, or when a replacement of the same owner holds what it needs
// (lib/scheduler/ownerHolds.ts). The rule is written down in docs/outages.md.
import type { V1Pod } from "@kubernetes/client-node";
import type { NodeReadiness } from "./nodeReadiness.js";

/** DisruptionTarget reasons that are the cluster's doing, not a user's. */
const disruptionsWithoutIntent = new Set(["DeletionByTaintManager", "DeletionByPodGC"]);

/** When the deletion was asked for: the deletion timestamp less the grace period it was given. */
function deletionRequestedAt(pod: V1Pod): Date | undefined {
  const { deletionTimestamp, deletionGracePeriodSeconds } = pod.metadata ?? {};
  if (deletionTimestamp === undefined) return undefined;
  return new Date(new Date(deletionTimestamp).getTime() - (deletionGracePeriodSeconds ?? 0) * 1000);
}

/**
 * Whether the pod (as last seen) left without user intent, so that its configurations are held for
 * its owner. `goneAt`: when a pod that vanished without a deletion timestamp (force-deleted) was seen gone.
 */
export function leftWithoutIntent(pod: V1Pod, readiness: NodeReadiness, goneAt?: Date): boolean {
  const disrupted = (pod.status?.conditions ?? []).some(
    (condition) =>
      condition.type === "DisruptionTarget" &&
      condition.status === "True" &&
      disruptionsWithoutIntent.has(condition.reason ?? ""),
  );
  if (disrupted) return true;
  const requestedAt = deletionRequestedAt(pod) ?? goneAt;
  return requestedAt !== undefined && readiness.wasNotReadyAt(requestedAt);
}

/** An owner as the adapter reads it from the cluster (any of the workload kinds below). */
export interface OwnerObject {
  metadata?: { uid?: string; deletionTimestamp?: Date };
  spec?: { replicas?: number; parallelism?: number; suspend?: boolean };
  status?: { conditions?: { type: string; status: string }[] };
}

/** The owner kinds whose objects the adapter reads (the chart grants get on them). */
export const ownerKinds = ["ReplicaSet", "StatefulSet", "DaemonSet", "ReplicationController", "Job"] as const;

/**
 * Whether a hold ends: the owner no longer wants pods. `owner` is undefined when it does not exist;
 * another uid under the name is another owner. An owner of a kind the adapter does not read cannot be
 * judged: its hold ends (its pods' configurations are then released as before, after the grace).
 */
export function holdEnds(kind: string, uid: string, owner: OwnerObject | undefined): boolean {
  if (!(ownerKinds as readonly string[]).includes(kind)) return true;
  if (owner === undefined || owner.metadata?.uid !== uid) return true;
  if (owner.metadata.deletionTimestamp !== undefined) return true;
  if (kind === "Job") {
    const finished = (owner.status?.conditions ?? []).some(
      (condition) =>
        (condition.type === "Complete" || condition.type === "Failed") && condition.status === "True",
    );
    return finished || owner.spec?.suspend === true || owner.spec?.parallelism === 0;
  }
  return kind !== "DaemonSet" && owner.spec?.replicas === 0;
}
