// The arithmetic of a staged rollout, pure. While a Deployment rolls out on a virtual node, its new
// ReplicaSet's configuration reaches the first N rollout buckets (lib/rollout/rolloutBucket.ts) of the
// scope, N following the new ReplicaSet's share of the Deployment's replicas, at a priority above the
// old configuration's; once no old replica is left it reaches the whole scope at the pod's own
// priority (equal priorities go to the deployment created last, the new one, until the old is
// deleted). Between stages only the target condition and priority change, which IoT Hub updates in
// place: a rollout through s partial stages costs s + 2 configuration operations (create at the first
// stage, one update for each later one, one to the whole scope, the old configuration's delete).
import { ROLLOUT_BUCKET_TAG, ROLLOUT_BUCKETS } from "./rolloutBucket.js";

/** Where a Deployment's rollout stands, from its ReplicaSets' and its own replica counts. */
export interface RolloutReplicas {
  /** the new ReplicaSet's replicas (spec.replicas) */
  newReplicas: number;
  /** the replicas of the Deployment's other ReplicaSets on the node */
  oldReplicas: number;
  /** the Deployment's spec.replicas */
  desiredReplicas: number;
}

/**
 * The buckets the new configuration reaches, 1-100: ceil(100 × new / desired), so the first new
 * replica already reaches a bucket; 100 once no old replica is left or the new ReplicaSet is whole.
 */
export function stagePercent({ newReplicas, oldReplicas, desiredReplicas }: RolloutReplicas): number {
  if (oldReplicas <= 0 || desiredReplicas <= 0 || newReplicas >= desiredReplicas) return ROLLOUT_BUCKETS;
  const share = Math.ceil((ROLLOUT_BUCKETS * Math.max(newReplicas, 0)) / desiredReplicas);
  return Math.min(Math.max(share, 1), ROLLOUT_BUCKETS);
}

/** The new configuration's target condition at a stage: the scope, narrowed to buckets below `percent`. */
export function stagedTargetCondition(scope: string, percent: number): string {
  if (percent >= ROLLOUT_BUCKETS) return scope;
  return `(${scope}) AND tags.${ROLLOUT_BUCKET_TAG} < ${percent}`;
}

/** During the partial stages the new configuration outranks the old one on the devices of the stage. */
export function stagedPriority(oldPriority: number): number {
  return oldPriority + 1;
}

/** Configuration operations a rollout through `partialStages` stages (below 100 %) costs on the hub. */
export function rolloutOperations(partialStages: number): number {
  return partialStages + 2;
}

/** `buckets 0-11` for a stage that reaches 12 %. */
export function bucketRange(percent: number): string {
  const last = Math.min(percent, ROLLOUT_BUCKETS) - 1;
  return last <= 0 ? "bucket 0" : `buckets 0-${last}`;
}

const thousands = new Intl.NumberFormat("en-US");

/** A new replica's share, for its status: `running on 120/1,000 devices, buckets 0-11`. */
export function stageMessage(running: number, targeted: number, percent: number): string {
  return `running on ${thousands.format(running)}/${thousands.format(targeted)} devices, ${bucketRange(percent)}`;
}

/** Device counts of the new configuration (its fleet status). */
export interface StageCounts {
  targeted: number;
  running: number;
  failed: number;
  offline: number;
}

/**
 * A new replica is Ready when its stage is healthy: some device is targeted, none fails, and every
 * connected one runs the modules (an offline device gets them when it connects, as without stages).
 * A stage known to hold no device (stageHoldsNoDevice) is Ready too; an empty count alone is not,
 * since before the devices report it cannot be told from an empty stage.
 */
export function stageHealthy({ targeted, running, failed, offline }: StageCounts): boolean {
  return targeted > 0 && failed === 0 && running >= targeted - offline;
}

/** A replica's stage as its pod record keeps it: the share, and the target condition it was translated with. */
export interface RolloutStageRecord {
  percent: number;
  /** the staged configuration's target condition (absent in records written before it was kept) */
  targetCondition?: string;
}

/**
 * Whether a partial stage holds no device: the fleet status was computed for the stage's own target
 * condition and targets none (a small fleet, or a stage narrower than one device's share). A status
 * counted for another condition (the previous stage's), or none yet, tells nothing about this stage.
 */
export function stageHoldsNoDevice(
  stage: RolloutStageRecord,
  status: { targetCondition?: string; counts: Pick<StageCounts, "targeted"> } | undefined,
): boolean {
  return (
    stage.percent < ROLLOUT_BUCKETS &&
    stage.targetCondition !== undefined &&
    status?.targetCondition === stage.targetCondition &&
    status.counts.targeted === 0
  );
}

/** An evaluated empty stage's message: `stage buckets 0-33 holds no device`. */
export function emptyStageMessage(percent: number): string {
  return `stage ${bucketRange(percent)} holds no device`;
}
