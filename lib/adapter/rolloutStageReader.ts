// Where a pod's Deployment's rollout stands, for the stage the adapter sends with the pod
// (docs/staged-rollouts.md): the pod's ReplicaSet, that ReplicaSet's Deployment, and the pods of the
// Deployment's other ReplicaSets on this node. The rule itself is lib/rollout/rolloutStage.ts.
// ReplicaSets and Deployments are read with GET (get only: the chart grants no list) and kept for a
// few seconds; a pod of the namespace coming or going forgets them, since that is when counts change.
import type { AppsV1Api, V1Pod } from "@kubernetes/client-node";
import { replicaSetOf, type ReplicaSetNow } from "./evictionHold.js";
import { ExpiringCache } from "./expiringCache.js";
import type { PodsByReplicaSet } from "./podsByReplicaSet.js";
import { AdapterError, isNotFound } from "./kubeErrors.js";
import type { RolloutStage } from "../provider/providerContract.js";
import { ROLLOUT_BUCKETS } from "../rollout/rolloutBucket.js";
import { stagePercent } from "../rollout/rolloutStage.js";
import { stagedRolloutAllowed } from "../translate/annotations.js";

/** Set by the Deployment controller on a Deployment and on each of its ReplicaSets; equal on the new one. */
const REVISION = "deployment.kubernetes.io/revision";

/** A ReplicaSet as the stage needs it. */
export interface ReplicaSetRead extends ReplicaSetNow {
  revision: string | undefined;
  /** its controlling Deployment, if any */
  deployment: { name: string; uid: string } | undefined;
}

interface DeploymentRead {
  uid: string;
  replicas: number;
  revision: string | undefined;
}

/**
 * Where a pod stands in its Deployment's rollout. `older`: a replica of one of the Deployment's older
 * ReplicaSets (superseded, or rolled back from), which the caller must not widen: it keeps the
 * stage it was sent with (a rolled-back bad release at its first stage stays there until its
 * ReplicaSet is scaled down; sent to the whole scope it would reach every device).
 */
export type PodRollout = { older: false; stage: RolloutStage | undefined } | { older: true };

/** Absent: the object does not exist (a cached miss is remembered as null). */
type Cached<T> = T | null;

export class RolloutStageReader {
  private readonly cache = new ExpiringCache<Cached<ReplicaSetRead | DeploymentRead>>();
  /** per namespace, bumped by forget: a read that began before it is not cached */
  private readonly epochs = new Map<string, number>();
  /** cached reads under way, by epoch and key */
  private readonly reading = new Map<string, Promise<Cached<ReplicaSetRead | DeploymentRead>>>();

  constructor(
    private readonly apps: AppsV1Api,
    /** the pods on this node by ReplicaSet (kept from the pod controller's informer) */
    private readonly podsOnNode: PodsByReplicaSet,
    private readonly ttlMs = 5_000,
  ) {}

  /** A pod of the namespace came, went or is being deleted: replica counts may have changed. */
  forget(namespace: string): void {
    this.epochs.set(namespace, (this.epochs.get(namespace) ?? 0) + 1);
  }

  /**
   * The stage to send with the pod: a replica of its Deployment's new ReplicaSet while the
   * Deployment's other ReplicaSets still have pods here, unless the pod is all-at-once. Stage
   * undefined: the configuration reaches all its devices.
   */
  async rolloutOf(pod: V1Pod): Promise<PodRollout> {
    const whole: PodRollout = { older: false, stage: undefined };
    const namespace = pod.metadata?.namespace ?? "";
    const owner = replicaSetOf(pod);
    if (owner === undefined || !stagedRolloutAllowed(pod.metadata?.annotations)) return whole;
    const replicaSet = await this.readReplicaSet(namespace, owner.name, { cached: true });
    if (replicaSet?.uid !== owner.uid || replicaSet.deployment === undefined) return whole;
    const deployment = await this.readDeployment(namespace, replicaSet.deployment.name);
    if (deployment?.uid !== replicaSet.deployment.uid) return whole;
    if (replicaSet.revision === undefined || replicaSet.revision !== deployment.revision)
      return { older: true };
    const oldReplicas = await this.oldPodsOnNode(namespace, replicaSet, replicaSet.deployment);
    const percent = stagePercent({
      newReplicas: replicaSet.replicas,
      oldReplicas,
      desiredReplicas: deployment.replicas,
    });
    return { older: false, stage: percent >= ROLLOUT_BUCKETS ? undefined : { percent } };
  }

  /** The ReplicaSet now (cached: at most ttlMs old, and not across a pod event of its namespace). */
  async readReplicaSet(
    namespace: string,
    name: string,
    { cached }: { cached: boolean },
  ): Promise<ReplicaSetRead | undefined> {
    return this.read(`replicaset/${namespace}/${name}`, namespace, cached, async () => {
      const found = await this.apps.readNamespacedReplicaSet({ namespace, name });
      const controller = found.metadata?.ownerReferences?.find((ref) => ref.controller === true);
      return {
        uid: found.metadata?.uid ?? "",
        replicas: found.spec?.replicas ?? 1,
        deleting: found.metadata?.deletionTimestamp !== undefined,
        revision: found.metadata?.annotations?.[REVISION],
        deployment:
          controller?.kind === "Deployment" && controller.apiVersion === "apps/v1"
            ? { name: controller.name, uid: controller.uid }
            : undefined,
      };
    });
  }

  private readDeployment(namespace: string, name: string): Promise<DeploymentRead | undefined> {
    return this.read(`deployment/${namespace}/${name}`, namespace, true, async () => {
      const found = await this.apps.readNamespacedDeployment({ namespace, name });
      return {
        uid: found.metadata?.uid ?? "",
        replicas: found.spec?.replicas ?? 1,
        revision: found.metadata?.annotations?.[REVISION],
      };
    });
  }

  /** Live pods here of the Deployment's other ReplicaSets (named `<deployment>-<hash>` by its controller). */
  private async oldPodsOnNode(
    namespace: string,
    current: ReplicaSetRead,
    deployment: { name: string; uid: string },
  ): Promise<number> {
    let count = 0;
    for (const name of this.podsOnNode.replicaSetsNamed(namespace, `${deployment.name}-`)) {
      const live = this.podsOnNode.podsOf(namespace, name).filter((other) => {
        const owner = replicaSetOf(other);
        return (
          other.metadata?.deletionTimestamp === undefined && owner !== undefined && owner.uid !== current.uid
        );
      });
      if (live.length === 0) continue;
      const replicaSet = await this.readReplicaSet(namespace, name, { cached: true });
      if (replicaSet === undefined || replicaSet.deployment?.uid !== deployment.uid) continue;
      count += live.filter((other) => replicaSetOf(other)?.uid === replicaSet.uid).length;
    }
    return count;
  }

  private async read<T extends ReplicaSetRead | DeploymentRead>(
    key: string,
    namespace: string,
    cached: boolean,
    get: () => Promise<T>,
  ): Promise<T | undefined> {
    const epochKey = `${this.epochs.get(namespace) ?? 0}/${key}`;
    if (!cached) return (await this.fetch(key, epochKey, get)) ?? undefined;
    const hit = this.cache.get(epochKey);
    if (hit !== undefined) return (hit ?? undefined) as T | undefined;
    // the replicas of a burst ask at once: one GET answers them all
    let reading = this.reading.get(epochKey);
    if (reading === undefined) {
      reading = this.fetch(key, epochKey, get).finally(() => this.reading.delete(epochKey));
      this.reading.set(epochKey, reading);
    }
    return ((await reading) ?? undefined) as T | undefined;
  }

  private async fetch<T>(key: string, epochKey: string, get: () => Promise<T>): Promise<T | null> {
    let value: T | null;
    try {
      value = await get();
    } catch (error) {
      if (!isNotFound(error)) throw new AdapterError(`reading ${key}`, error);
      value = null;
    }
    // a read that began before a forget may be older than the event: keyed by its epoch, never found again
    this.cache.set(epochKey, value as Cached<ReplicaSetRead | DeploymentRead>, this.ttlMs);
    return value;
  }
}
