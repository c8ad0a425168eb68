// The pod controller, after virtual-kubelet's podcontroller: an informer on the node's pods feeds a
// keyed work queue (`namespace/name`); one level-triggered sync per key compares the pod in the
// cache with what was last sent to the provider. Status-only changes (our own status writes) are
// skipped, a pod gone from the cache is deleted at the provider, and a pod being deleted is removed
// from the provider before it is removed from the cluster. Every error names the step and the pod.
import { createHash } from "node:crypto";
import {
  AppsV1Api,
  PatchStrategy,
  setHeaderOptions,
  type ListWatch,
  type CoreV1Api,
  type KubeConfig,
  type V1Pod,
} from "@kubernetes/client-node";
import type { Logger } from "pino";
import stableStringify from "safe-stable-stringify";
import type { AdapterMetrics } from "./metrics.js";
import { redact } from "../hub/redact.js";
import { AdapterError, describeError, isNotFound } from "./kubeErrors.js";
import { keepsConfiguration, replicaSetOf, wasEvicted, type NotReadySpan } from "./evictionHold.js";
import { RolloutStageReader } from "./rolloutStageReader.js";
import { PodsByReplicaSet } from "./podsByReplicaSet.js";
import type { EventRecorder } from "./podEvents.js";
import type { PodProvider } from "./podProvider.js";
import type { ResolvedObjects, RolloutStage } from "../provider/providerContract.js";
import { ProviderCallError } from "./podProvider.js";
import { DEFAULT_POD_SYNC_WORKERS } from "./config.js";
import { MissingReferenceError, resolveReferences } from "./resolveReferences.js";
import type { NodePolicy } from "../policy/fleetPolicy.js";
import { decidePod } from "../policy/podPolicy.js";
import { refusalMessage } from "../policy/podRefusal.js";
import { WorkQueue } from "./workQueue.js";
import { nodePodInformer } from "./nodePodInformer.js";

export interface PodControllerOptions {
  nodeName: string;
  kubeConfig: KubeConfig;
  core: CoreV1Api;
  provider: PodProvider;
  events: EventRecorder;
  logger: Logger;
  metrics: AdapterMetrics;
  workers?: number;
  /** first retry delay of a failed pod; doubles up to maxRetryDelayMs */
  retryDelayMs?: number;
  maxRetryDelayMs?: number;
  /** how often a deleting pod asks the provider whether it is gone */
  deletePollMs?: number;
  /** the node's fleet policy, checked before a pod is sent (the app checks its own copy anyway) */
  policy?: { node: NodePolicy; hubName: string };
  /** how often the pod lists are reconciled with the provider after the one at start; 0 = never */
  reconcileIntervalMs?: number;
  /** when the node was not Ready before this adapter started (pods deleted then were evicted) */
  notReadyBeforeStart?: () => NotReadySpan | undefined;
}

/** What was last sent for a pod: enough to know whether the next sync has anything to do. */
interface SentPod {
  uid: string;
  /** the pod's desired state and its rollout stage */
  fingerprint: string;
  /** the rollout stage it was sent with */
  rollout?: RolloutStage;
  /** the provider refused this content (4xx); wait for a change instead of retrying */
  refused: boolean;
  /** when the provider accepted it (a pod sent during a reconcile may be missing from its list) */
  at: number;
}

/**
 * A pod's desired state as the provider sees it; status and bookkeeping metadata left out. Kept
 * as a digest: one is held per pod, and the text would be a couple of KiB.
 */
function desiredFingerprint(pod: V1Pod, rollout: RolloutStage | undefined): string {
  const { labels, annotations, uid } = pod.metadata ?? {};
  const text = stableStringify({ uid, labels, annotations, spec: pod.spec, rollout }) ?? "";
  return createHash("sha256").update(text).digest("base64");
}

const mergePatchOptions = setHeaderOptions("Content-Type", PatchStrategy.MergePatch);

export const podKey = (namespace: string, name: string) => `${namespace}/${name}`;

export class PodController {
  private readonly informer: ListWatch<V1Pod>;
  private readonly queue: WorkQueue;
  private readonly sent = new Map<string, SentPod>();
  /** uids whose removal the provider has accepted, so polling for the end does not repeat it */
  private readonly removing = new Set<string>();
  /** uids of evicted pods whose removal waits for their replacements (evictionHold.ts) */
  private readonly held = new Set<string>();
  private readonly rollouts: RolloutStageReader;
  /** the informer's pods by ReplicaSet, for questions about a pod's siblings */
  private readonly byReplicaSet = new PodsByReplicaSet();
  private readonly deletePollMs: number;
  private synced = false;
  /** keys of pods that changed before the provider answered the reconcile; queued after it (see start) */
  private readonly beforeReconcile = new Set<string>();
  /** of those, the first replica of a ReplicaSet: queued ahead of the others */
  private readonly firstsBeforeReconcile = new Set<string>();
  private reconciled = false;
  private firstListError: unknown;
  private stopped = false;
  private restartTimer: NodeJS.Timeout | undefined;
  private reconcileTimer: NodeJS.Timeout | undefined;
  private reconciling = false;

  constructor(private readonly options: PodControllerOptions) {
    const missing = (
      ["nodeName", "kubeConfig", "core", "provider", "events", "logger", "metrics"] as const
    ).filter((field) => !options[field]);
    if (missing.length > 0) throw new Error(`PodController: missing ${missing.join(", ")}`);
    this.informer = nodePodInformer(options.kubeConfig, options.core, options.nodeName);
    this.deletePollMs = options.deletePollMs ?? 2_000;
    // filed first: the handlers below ask it about the pod's siblings
    this.informer.on("add", (pod: V1Pod) => this.byReplicaSet.set(pod));
    this.informer.on("update", (pod: V1Pod) => this.byReplicaSet.set(pod));
    this.informer.on("delete", (pod: V1Pod) => this.byReplicaSet.delete(pod));
    this.rollouts = new RolloutStageReader(options.kubeConfig.makeApiClient(AppsV1Api), this.byReplicaSet);
    this.queue = new WorkQueue({
      handler: (key) => this.sync(key),
      workers: options.workers ?? DEFAULT_POD_SYNC_WORKERS,
      baseDelayMs: options.retryDelayMs ?? 500,
      maxDelayMs: options.maxRetryDelayMs ?? 60_000,
      onError: (key, error, attempt, retryInMs) => {
        options.metrics.errors.inc({ kind: "pod_sync" });
        options.logger.warn(
          { pod: key, attempt, retryInMs, err: describeError(error) },
          "pod sync failed; will retry",
        );
      },
      // the app is behind on its work (503 with Retry-After): every PUT would be refused, so all wait
      retryAfterMs: (error) => ProviderCallError.retryAfterMs(error),
      onHold: (key, error, until) => {
        options.metrics.errors.inc({ kind: "provider_busy" });
        options.logger.info(
          { pod: key, retryInMs: until - Date.now(), err: describeError(error) },
          "provider busy; pod syncs wait",
        );
      },
      onDepthChange: (depth) => options.metrics.queueDepth.set(depth),
    });
    const enqueue = (pod: V1Pod, { first = false } = {}) => {
      const key = podKey(pod.metadata?.namespace ?? "", pod.metadata?.name ?? "");
      if (this.reconciled) this.queue.add(key, { first });
      else (first ? this.firstsBeforeReconcile : this.beforeReconcile).add(key);
    };
    // The first replica of a ReplicaSet to arrive goes ahead of the replicas waiting: a burst of
    // several Deployments then asks for every configuration early, and the replicas that follow find
    // theirs on the hub (cheaper for the app) instead of one configuration waiting behind another's
    // replicas.
    const firstOfItsReplicaSet = (pod: V1Pod) => {
      const owner = replicaSetOf(pod);
      return (
        owner !== undefined &&
        this.byReplicaSet.podsOf(pod.metadata?.namespace ?? "", owner.name).length === 1
      );
    };
    // A replica coming or going moves its Deployment's rollout while the Deployment has replicas of
    // more than one ReplicaSet here: its siblings are sent their new stage. With one ReplicaSet the
    // stage is whole whatever the counts, so a burst of replicas is neither re-queued nor re-read.
    // The reads are forgotten before the pod is queued: a queued pod's sync starts at once, and one
    // that joined a ReplicaSet read begun before this event would be sent a stale stage.
    const enqueueWithSiblings = (pod: V1Pod, options: { first?: boolean } = {}) => {
      const siblings = deploymentSiblings(this.byReplicaSet, pod);
      const rollingOut = new Set([pod, ...siblings].map((each) => replicaSetOf(each)?.uid)).size >= 2;
      if (rollingOut) this.rollouts.forget(pod.metadata?.namespace ?? "");
      enqueue(pod, options);
      if (rollingOut) for (const sibling of siblings) enqueue(sibling);
    };
    this.informer.on("add", (pod: V1Pod) => enqueueWithSiblings(pod, { first: firstOfItsReplicaSet(pod) }));
    this.informer.on("update", (pod: V1Pod) =>
      pod.metadata?.deletionTimestamp ? enqueueWithSiblings(pod) : enqueue(pod),
    );
    this.informer.on("delete", enqueueWithSiblings);
    this.informer.on("connect", () => options.logger.debug("pod watch connected"));
    this.informer.on("error", (error: unknown) => {
      if (this.synced) this.restartInformer(error);
      else this.firstListError ??= error;
    });
  }

  /** true once the first list has filled the cache */
  get hasSynced(): boolean {
    return this.synced;
  }

  /** The cached pod, for the kubelet API and the status writer. */
  getPod(namespace: string, name: string): V1Pod | undefined {
    return this.informer.get(name, namespace);
  }

  listPods(): readonly V1Pod[] {
    return this.informer.list();
  }

  /**
   * Fills the cache, tells the provider which pods are alive (it removes deployments of any other),
   * and queues every pod: after a restart each one is re-sent.
   */
  async start(): Promise<void> {
    await this.informer.start();
    // The informer reports a failed list as an event, not a rejection. Without a complete list
    // the reconcile below would tell the provider that no pod is alive: fail the start instead.
    if (this.firstListError !== undefined) {
      await this.informer.stop();
      throw new AdapterError(`listing the pods of node ${this.options.nodeName}`, this.firstListError);
    }
    this.synced = true;
    try {
      const live = await this.dropPodsTheClusterLost();
      this.options.logger.info({ pods: live }, "reconciled live pods with the provider");
    } catch (error) {
      // The pods are re-sent below anyway; stale deployments wait for the next reconcile.
      this.options.metrics.errors.inc({ kind: "provider" });
      this.options.logger.warn({ err: describeError(error) }, "reconcile with the provider failed");
    }
    // Pods are sent only now: the provider drops every pod not in `live`, so a pod that arrived
    // after the list and was sent while the provider reconciled would be dropped, never to be re-sent.
    this.reconciled = true;
    for (const key of this.firstsBeforeReconcile) this.queue.add(key);
    for (const key of this.beforeReconcile) this.queue.add(key);
    this.firstsBeforeReconcile.clear();
    this.beforeReconcile.clear();
    const intervalMs = this.options.reconcileIntervalMs ?? 300_000;
    if (intervalMs > 0) this.reconcileTimer = setInterval(() => void this.reconcile(), intervalMs);
  }

  /** Tells the provider every pod the cluster has on the node (terminating ones too); it drops the rest. */
  private async dropPodsTheClusterLost(): Promise<number> {
    const live = this.informer
      .list()
      .map((pod) => `${pod.metadata?.namespace}/${pod.metadata?.name}/${pod.metadata?.uid}`);
    await this.options.provider.reconcile(live);
    return live.length;
  }

  /**
   * The periodic reconcile, both ways: the provider drops pods the cluster no longer has (a delete it
   * never heard of), and a pod sent before the provider's list was read but missing from it (lost by
   * the app, or dropped by this very reconcile while it was being sent) is sent again.
   */
  private async reconcile(): Promise<void> {
    if (this.reconciling || this.stopped) return;
    this.reconciling = true;
    try {
      await this.dropPodsTheClusterLost();
      const listedAt = Date.now();
      const listed = await this.options.provider.listPodStatuses();
      if (listed === undefined) return; // no ETag sent: a 304 cannot come
      const atProvider = new Set(listed.pods.map((p) => `${p.namespace}/${p.name}/${p.uid}`));
      let resent = 0;
      for (const pod of this.informer.list()) {
        const { namespace = "", name = "", uid = "", deletionTimestamp } = pod.metadata ?? {};
        const key = podKey(namespace, name);
        const last = this.sent.get(key);
        if (deletionTimestamp || !last || last.refused || last.uid !== uid || last.at >= listedAt) continue;
        if (atProvider.has(`${key}/${uid}`)) continue;
        this.sent.delete(key);
        this.queue.add(key);
        resent += 1;
      }
      this.options.logger.info({ resent }, "periodic reconcile with the provider");
    } catch (error) {
      this.options.metrics.errors.inc({ kind: "provider" });
      this.options.logger.warn({ err: describeError(error) }, "periodic reconcile with the provider failed");
    } finally {
      this.reconciling = false;
    }
  }

  async stop(timeoutMs: number): Promise<{ drained: boolean }> {
    this.stopped = true;
    clearTimeout(this.restartTimer);
    clearInterval(this.reconcileTimer);
    await this.informer.stop();
    return this.queue.shutdown(timeoutMs);
  }

  /** The watch ended with an error (apiserver restart, network): list and watch again shortly. */
  private restartInformer(error: unknown): void {
    if (this.stopped) return;
    this.options.metrics.errors.inc({ kind: "watch" });
    this.options.logger.warn({ err: describeError(error) }, "pod watch failed; restarting in 1 s");
    clearTimeout(this.restartTimer);
    this.restartTimer = setTimeout(() => {
      this.informer.start().catch((startError: unknown) => this.restartInformer(startError));
    }, 1_000);
  }

  /** One level-triggered pass for one pod. */
  private async sync(key: string): Promise<void> {
    const [namespace = "", name = ""] = key.split("/");
    const pod = this.informer.get(name, namespace);
    if (!pod) return this.forget(key, namespace, name);
    if (pod.metadata?.deletionTimestamp) return this.remove(key, pod);
    let found;
    try {
      found = await this.rollouts.rolloutOf(pod);
    } catch (error) {
      // sent without it, the new configuration would reach every device at once: wait and retry
      throw new AdapterError(`reading the rollout of pod ${key}`, error);
    }
    const last = this.sent.get(key);
    const uid = pod.metadata?.uid ?? "";
    // an older ReplicaSet is never widened: it keeps the stage it was sent with (rolloutStageReader.ts)
    const rollout = found.older ? (last?.uid === uid ? last.rollout : undefined) : found.stage;
    const fingerprint = desiredFingerprint(pod, rollout);
    if (last && last.fingerprint === fingerprint) return; // status-only change, or already refused
    if (last && last.uid !== uid) await this.deleteAtProvider(namespace, name, last.uid);
    await this.send(key, pod, rollout, fingerprint, last === undefined || last.uid !== uid);
  }

  private async send(
    key: string,
    pod: V1Pod,
    rollout: RolloutStage | undefined,
    fingerprint: string,
    isNew: boolean,
  ): Promise<void> {
    const uid = pod.metadata?.uid ?? "";
    let resolved;
    try {
      resolved = await resolveReferences(this.options.core, pod);
    } catch (error) {
      if (error instanceof MissingReferenceError) {
        await this.options.events.record(pod, {
          type: "Warning",
          reason: "MissingReference",
          message: error.message,
        });
      }
      throw new AdapterError(`resolving references of pod ${key}`, error);
    }
    if (await this.refusedByPolicy(key, pod, resolved, fingerprint, isNew)) return;
    try {
      await this.options.provider.putPod(pod, resolved, rollout);
    } catch (error) {
      if (error instanceof ProviderCallError && error.permanent) {
        this.sent.set(key, { uid, fingerprint, refused: true, at: Date.now() });
        const message = `the connector refused the pod: ${error.field ? `${error.field}: ` : ""}${error.reason}`;
        await this.options.events.record(pod, { type: "Warning", reason: "ProviderRejected", message });
        await this.writeRefusal(pod, "ProviderRejected", message);
        this.options.logger.warn({ pod: key, err: error.message }, "provider refused the pod");
        return;
      }
      throw new AdapterError(`sending pod ${key} to the provider`, error);
    }
    this.sent.set(key, { uid, fingerprint, refused: false, at: Date.now(), ...(rollout && { rollout }) });
    await this.options.events.record(pod, {
      type: "Normal",
      reason: isNew ? "Submitted" : "Updated",
      message: isNew
        ? "sent to the IoT Edge connector for deployment"
        : "changes sent to the IoT Edge connector",
    });
    this.options.logger.info(
      { pod: key, uid, rolloutPercent: rollout?.percent },
      isNew ? "pod submitted" : "pod update submitted",
    );
  }

  /**
   * The node's fleet policy, run here as the app runs it: a refused pod fails at once, with an Event,
   * and neither it nor its Secrets are sent. A refused update of a pod the provider runs removes it
   * there, as the app does when it refuses an update.
   */
  private async refusedByPolicy(
    key: string,
    pod: V1Pod,
    resolved: ResolvedObjects,
    fingerprint: string,
    isNew: boolean,
  ): Promise<boolean> {
    const policy = this.options.policy;
    if (policy === undefined) return false;
    const decision = decidePod({
      pod,
      resolved,
      node: this.options.nodeName,
      policy: policy.node,
      hubName: policy.hubName,
    });
    if (decision.allowed) return false;
    const { namespace = "", name = "", uid = "" } = pod.metadata ?? {};
    const last = this.sent.get(key);
    if (!isNew && last?.refused === false) await this.deleteAtProvider(namespace, name, uid);
    this.sent.set(key, { uid, fingerprint, refused: true, at: Date.now() });
    const message = refusalMessage(decision.refusal);
    await this.options.events.record(pod, { type: "Warning", reason: decision.refusal.reason, message });
    await this.writeRefusal(pod, decision.refusal.reason, message);
    this.options.logger.warn({ pod: key, reason: decision.refusal.reason }, "fleet policy refused the pod");
    return true;
  }

  /** A refused pod will not run: say why in its status, as a kubelet does for a pod it rejects. */
  private async writeRefusal(pod: V1Pod, reason: string, message: string): Promise<void> {
    const { namespace = "", name = "" } = pod.metadata ?? {};
    try {
      await this.options.core.patchNamespacedPodStatus(
        { name, namespace, body: { status: { phase: "Failed", reason, message: redact(message) } } },
        mergePatchOptions,
      );
    } catch (error) {
      this.options.logger.warn(
        { pod: podKey(namespace, name), err: describeError(error) },
        "writing refusal status failed",
      );
    }
  }

  /** Gone from the cache (deleted by someone else, or force-deleted): remove it at the provider. */
  private async forget(key: string, namespace: string, name: string): Promise<void> {
    const last = this.sent.get(key);
    if (!last) return;
    await this.deleteAtProvider(namespace, name, last.uid);
    this.sent.delete(key);
    this.held.delete(last.uid);
  }

  /**
   * Deletion requested: the provider removes the deployment; once it has no such pod any more (or
   * the grace period ran out) the pod object is deleted for good, only if it is still this uid.
   * A provider that cannot be reached within the grace period does not keep the pod: it is deleted
   * and the provider delete is retried from the pod's entry in `sent` (see forget).
   */
  private async remove(key: string, pod: V1Pod): Promise<void> {
    const { namespace = "", name = "", uid = "", deletionTimestamp } = pod.metadata ?? {};
    const graceOver = deletionTimestamp !== undefined && new Date(deletionTimestamp).getTime() <= Date.now();
    if (!this.removing.has(uid) && (await this.keepsConfiguration(key, pod))) {
      this.queue.addAfter(key, this.deletePollMs);
      return;
    }
    let gone = false;
    try {
      if (!this.removing.has(uid)) {
        await this.deleteAtProvider(namespace, name, uid);
        this.removing.add(uid);
      }
      const status = await this.options.provider.getPodStatus(namespace, name);
      gone = status === undefined || status.uid !== uid;
    } catch (error) {
      if (!graceOver) throw new AdapterError(`removing pod ${key} at the provider`, error);
      this.options.logger.warn(
        { pod: key, err: describeError(error) },
        "grace period over; provider not reached",
      );
    }
    if (!gone && !graceOver) {
      this.queue.addAfter(key, this.deletePollMs);
      return;
    }
    try {
      await this.options.core.deleteNamespacedPod({
        name,
        namespace,
        gracePeriodSeconds: 0,
        body: { gracePeriodSeconds: 0, preconditions: { uid } },
      });
    } catch (error) {
      if (!isNotFound(error)) throw new AdapterError(`deleting pod ${key} from the cluster`, error);
    }
    if (gone) this.sent.delete(key);
    this.removing.delete(uid);
    this.held.delete(uid);
    await this.options.events.record(pod, {
      type: "Normal",
      reason: "Removed",
      message: gone
        ? "removed from the IoT Edge devices"
        : "grace period over before the devices confirmed removal",
    });
    this.options.logger.info({ pod: key, uid, confirmed: gone }, "pod removed");
  }

  /**
   * Gathers what the eviction rule (evictionHold.ts) decides on: whether the pod was evicted, its
   * ReplicaSet now, and how many of that ReplicaSet's live pods here were sent. Says so once per pod.
   */
  private async keepsConfiguration(key: string, pod: V1Pod): Promise<boolean> {
    const { namespace = "", uid = "" } = pod.metadata ?? {};
    // once kept, it stays evicted whatever later writes did to its conditions
    const evicted = this.held.has(uid) || wasEvicted(pod, this.options.notReadyBeforeStart?.());
    const owner = replicaSetOf(pod);
    if (!evicted || owner === undefined) return false; // no read for pods the rule releases anyway
    const ownerNow = await this.rollouts.readReplicaSet(namespace, owner.name, { cached: false });
    const replacementsSent = this.byReplicaSet.podsOf(namespace, owner.name).filter((other) => {
      const { name: otherName = "", uid: otherUid, deletionTimestamp } = other.metadata ?? {};
      const sent = this.sent.get(podKey(namespace, otherName));
      return (
        deletionTimestamp === undefined &&
        replicaSetOf(other)?.uid === owner.uid &&
        sent !== undefined &&
        sent.uid === otherUid &&
        !sent.refused
      );
    }).length;
    const keeps = keepsConfiguration({ evicted, owner, ownerNow, replacementsSent });
    if (keeps && !this.held.has(uid)) {
      this.held.add(uid);
      await this.options.events.record(pod, {
        type: "Normal",
        reason: "KeptForReplacement",
        message: `evicted: the devices keep its deployment until ReplicaSet ${owner.name} has its replacement, or is deleted or scaled down`,
      });
      this.options.logger.info({ pod: key, uid, owner: owner.name }, "evicted pod kept for its replacement");
    }
    return keeps;
  }

  private async deleteAtProvider(namespace: string, name: string, uid: string): Promise<void> {
    try {
      await this.options.provider.deletePod(namespace, name, uid);
    } catch (error) {
      throw new AdapterError(`deleting pod ${podKey(namespace, name)} (uid ${uid}) at the provider`, error);
    }
  }
}

/**
 * The other live pods here of the pod's Deployment, by name: its ReplicaSets are `<deployment>-<hash>`,
 * the hash the pods' pod-template-hash label. (The stage reader checks ownership; this only queues.)
 */
function deploymentSiblings(index: PodsByReplicaSet, pod: V1Pod): V1Pod[] {
  const owner = replicaSetOf(pod);
  const hash = pod.metadata?.labels?.["pod-template-hash"];
  if (owner === undefined || hash === undefined || !owner.name.endsWith(`-${hash}`)) return [];
  const namespace = pod.metadata?.namespace ?? "";
  const replicaSets = index.replicaSetsNamed(namespace, owner.name.slice(0, -hash.length));
  // its own ReplicaSet alone: no sibling's stage moves (and a burst of replicas is not walked n² times)
  if (replicaSets.every((name) => name === owner.name)) return [];
  return replicaSets.flatMap((name) =>
    index
      .podsOf(namespace, name)
      .filter(
        (other) =>
          other.metadata?.uid !== pod.metadata?.uid && other.metadata?.deletionTimestamp === undefined,
      ),
  );
}
