// The pod controller, after virtual-kubelet's podcontroller: an informer on the node's pods feeds a
// keyed work queue (`namespace/name`); one level-triggered sync per key compares the pod in the
// cache with what was last sent to the provider. Status-only changes (our own status writes) are
// skipped, a pod gone from the cache is deleted at the provider, and a pod being deleted is removed
// from the provider before it is removed from the cluster; a pod that left without user intent has its
// configurations held for its owner (retention.ts). Now and then the provider's list of the node's pods
// is compared with the cache: what it has and the cluster does not is deleted there, what the cluster
// has and it lost is sent again. Every error names the step and the pod.
import {
  ListWatch,
  PatchStrategy,
  Watch,
  setHeaderOptions,
  type CoreV1Api,
  type KubeConfig,
  type V1Pod,
} from "@kubernetes/client-node";
import type { Logger } from "pino";
import stableStringify from "safe-stable-stringify";
import type { AdapterMetrics } from "./metrics.js";
import { AdapterError, describeError, isNotFound } from "./kubeErrors.js";
import type { EventRecorder } from "./podEvents.js";
import type { PodProvider } from "./podProvider.js";
import { ProviderCallError } from "./podProvider.js";
import type { NodeReadiness } from "./nodeReadiness.js";
import { MissingReferenceError, resolveReferences } from "./resolveReferences.js";
import { leftWithoutIntent } from "./retention.js";
import { WorkQueue } from "./workQueue.js";

export interface PodControllerOptions {
  nodeName: string;
  kubeConfig: KubeConfig;
  core: CoreV1Api;
  provider: PodProvider;
  events: EventRecorder;
  logger: Logger;
  metrics: AdapterMetrics;
  /** when the node was not Ready: deletions then are not user intent */
  readiness: NodeReadiness;
  workers?: number;
  /** first retry delay of a failed pod; doubles up to maxRetryDelayMs */
  retryDelayMs?: number;
  maxRetryDelayMs?: number;
  /** how often a deleting pod asks the provider whether it is gone */
  deletePollMs?: number;
}

/** What was last sent for a pod: enough to know whether the next sync has anything to do. */
interface SentPod {
  uid: string;
  fingerprint: string;
  /** the provider refused this content (4xx); wait for a change instead of retrying */
  refused: boolean;
  /** when it was sent (epoch ms): a provider list older than that cannot show it */
  atMs: number;
}

/** A pod as the provider lists it. */
export interface ProviderPod {
  namespace: string;
  name: string;
  uid: string;
}

/** A pod's desired state as the provider sees it; status and bookkeeping metadata left out. */
function desiredFingerprint(pod: V1Pod): string {
  const { labels, annotations, uid } = pod.metadata ?? {};
  return stableStringify({ uid, labels, annotations, spec: pod.spec }) ?? "";
}

const mergePatchOptions = setHeaderOptions("Content-Type", PatchStrategy.MergePatch);

export const podKey = (namespace: string, name: string) => `${namespace}/${name}`;

export class PodController {
  private readonly informer: ListWatch<V1Pod>;
  private readonly queue: WorkQueue;
  private readonly sent = new Map<string, SentPod>();
  /** uids whose removal the provider has accepted, so polling for the end does not repeat it */
  private readonly removing = new Set<string>();
  /** pods that vanished from the cache, as last seen, and when: for the retention rule */
  private readonly vanished = new Map<string, { pod: V1Pod; atMs: number }>();
  /** uids the provider has under a key that the cluster no longer has (found by `reconcileWith`) */
  private readonly strays = new Map<string, string>();
  private readonly deletePollMs: number;
  private synced = false;
  private firstListError: unknown;
  private stopped = false;
  private restartTimer: NodeJS.Timeout | undefined;

  constructor(private readonly options: PodControllerOptions) {
    const missing = (
      ["nodeName", "kubeConfig", "core", "provider", "events", "logger", "metrics", "readiness"] as const
    ).filter((field) => !options[field]);
    if (missing.length > 0) throw new Error(`PodController: missing ${missing.join(", ")}`);
    const fieldSelector = `spec.nodeName=${options.nodeName}`;
    this.informer = new ListWatch<V1Pod>(
      "/api/v1/pods",
      new Watch(options.kubeConfig),
      () => options.core.listPodForAllNamespaces({ fieldSelector }),
      false,
      undefined,
      fieldSelector,
    );
    this.deletePollMs = options.deletePollMs ?? 2_000;
    this.queue = new WorkQueue({
      handler: (key) => this.sync(key),
      workers: options.workers ?? 4,
      baseDelayMs: options.retryDelayMs ?? 500,
      maxDelayMs: options.maxRetryDelayMs ?? 60_000,
      onError: (key, error, attempt, retryInMs) => {
        options.metrics.errors.inc({ kind: "pod_sync" });
        options.logger.warn(
          { pod: key, attempt, retryInMs, err: describeError(error) },
          "pod sync failed; will retry",
        );
      },
      onDepthChange: (depth) => options.metrics.queueDepth.set(depth),
    });
    const enqueue = (pod: V1Pod) =>
      this.queue.add(podKey(pod.metadata?.namespace ?? "", pod.metadata?.name ?? ""));
    this.informer.on("add", enqueue);
    this.informer.on("update", enqueue);
    this.informer.on("delete", (pod: V1Pod) => {
      const key = podKey(pod.metadata?.namespace ?? "", pod.metadata?.name ?? "");
      this.vanished.set(key, { pod, atMs: Date.now() });
      enqueue(pod);
    });
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
    const live = this.informer
      .list()
      .map((pod) => `${pod.metadata?.namespace}/${pod.metadata?.name}/${pod.metadata?.uid}`);
    // Pods gone while the node was not Ready (this adapter was away) left without user intent.
    const retainGone = this.options.readiness.wasNotReadyAtStart;
    try {
      await this.options.provider.reconcile(live, retainGone);
      this.options.logger.info({ pods: live.length, retainGone }, "reconciled live pods with the provider");
    } catch (error) {
      // The pods are re-sent below anyway; stale deployments wait for the next start or the app's timer.
      this.options.metrics.errors.inc({ kind: "provider" });
      this.options.logger.warn({ err: describeError(error) }, "reconcile with the provider failed");
    }
  }

  /**
   * Compares the provider's list of the node's pods (read at `listedAtMs`) with the cache: a pod it has
   * that the cluster does not (a delete that never reached it) is deleted there, and a pod sent before
   * the list was read that it does not have (its record was lost) is sent again. Through the queue, so
   * each pod's work stays one at a time.
   */
  reconcileWith(
    providerPods: readonly ProviderPod[],
    listedAtMs: number,
  ): { strays: number; resent: number } {
    if (!this.synced) return { strays: 0, resent: 0 };
    let strays = 0;
    let resent = 0;
    const listed = new Set(providerPods.map((pod) => pod.uid));
    for (const { namespace, name, uid } of providerPods) {
      const key = podKey(namespace, name);
      if (this.getPod(namespace, name)?.metadata?.uid === uid || this.removing.has(uid)) continue;
      this.strays.set(key, uid);
      this.queue.add(key);
      strays += 1;
    }
    for (const [key, sent] of this.sent) {
      if (sent.refused || sent.atMs >= listedAtMs || listed.has(sent.uid)) continue;
      const [namespace = "", name = ""] = key.split("/");
      const pod = this.getPod(namespace, name);
      if (pod?.metadata?.uid !== sent.uid || pod.metadata.deletionTimestamp) continue;
      this.sent.delete(key);
      this.queue.add(key);
      resent += 1;
    }
    return { strays, resent };
  }

  async stop(timeoutMs: number): Promise<{ drained: boolean }> {
    this.stopped = true;
    clearTimeout(this.restartTimer);
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
    this.vanished.delete(key);
    const stray = this.strays.get(key);
    if (stray !== undefined && stray !== pod.metadata?.uid)
      await this.deleteAtProvider(namespace, name, stray);
    this.strays.delete(key);
    if (pod.metadata?.deletionTimestamp) return this.remove(key, pod);
    const fingerprint = desiredFingerprint(pod);
    const last = this.sent.get(key);
    if (last && last.fingerprint === fingerprint) return; // status-only change, or already refused
    const uid = pod.metadata?.uid ?? "";
    if (last && last.uid !== uid) await this.deleteAtProvider(namespace, name, last.uid);
    await this.send(key, pod, fingerprint, last === undefined || last.uid !== uid);
  }

  private async send(key: string, pod: V1Pod, fingerprint: string, isNew: boolean): Promise<void> {
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
    try {
      await this.options.provider.putPod(pod, resolved);
    } catch (error) {
      if (error instanceof ProviderCallError && error.permanent) {
        this.sent.set(key, { uid, fingerprint, refused: true, atMs: Date.now() });
        const message = `the connector refused the pod: ${error.field ? `${error.field}: ` : ""}${error.reason}`;
        await this.options.events.record(pod, { type: "Warning", reason: "ProviderRejected", message });
        await this.writeRefusal(pod, message);
        this.options.logger.warn({ pod: key, err: error.message }, "provider refused the pod");
        return;
      }
      throw new AdapterError(`sending pod ${key} to the provider`, error);
    }
    this.sent.set(key, { uid, fingerprint, refused: false, atMs: Date.now() });
    await this.options.events.record(pod, {
      type: "Normal",
      reason: isNew ? "Submitted" : "Updated",
      message: isNew
        ? "sent to the IoT Edge connector for deployment"
        : "changes sent to the IoT Edge connector",
    });
    this.options.logger.info({ pod: key, uid }, isNew ? "pod submitted" : "pod update submitted");
  }

  /** A refused pod will not run: say why in its status, as a kubelet does for a pod it rejects. */
  private async writeRefusal(pod: V1Pod, message: string): Promise<void> {
    const { namespace = "", name = "" } = pod.metadata ?? {};
    try {
      await this.options.core.patchNamespacedPodStatus(
        { name, namespace, body: { status: { phase: "Failed", reason: "ProviderRejected", message } } },
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
    const stray = this.strays.get(key);
    if (stray !== undefined) {
      await this.deleteAtProvider(namespace, name, stray);
      this.strays.delete(key);
    }
    const last = this.sent.get(key);
    if (!last) return;
    const seen = this.vanished.get(key);
    const retain =
      seen !== undefined &&
      seen.pod.metadata?.uid === last.uid &&
      leftWithoutIntent(seen.pod, this.options.readiness, new Date(seen.atMs));
    await this.deleteAtProvider(namespace, name, last.uid, retain);
    this.sent.delete(key);
    this.vanished.delete(key);
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
    const retain = leftWithoutIntent(pod, this.options.readiness);
    let gone = false;
    try {
      if (!this.removing.has(uid)) {
        await this.deleteAtProvider(namespace, name, uid, retain);
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
    await this.options.events.record(pod, {
      type: "Normal",
      reason: "Removed",
      message: retain
        ? "removed without user intent: its deployment stays on the devices, held for the pod's owner"
        : gone
          ? "removed from the IoT Edge devices"
          : "grace period over before the devices confirmed removal",
    });
    this.options.logger.info({ pod: key, uid, confirmed: gone, retain }, "pod removed");
  }

  private async deleteAtProvider(
    namespace: string,
    name: string,
    uid: string,
    retain = false,
  ): Promise<void> {
    try {
      await this.options.provider.deletePod(namespace, name, uid, retain);
    } catch (error) {
      throw new AdapterError(`deleting pod ${podKey(namespace, name)} (uid ${uid}) at the provider`, error);
    }
  }
}
