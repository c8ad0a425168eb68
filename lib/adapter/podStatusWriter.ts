// Writes the provider's pod statuses to the pods' status subresource. Long-polls the node's pod
// list with If-None-Match (the app holds an unchanged list until it changes, then answers; an
// unchanged list costs a 304 per wait and nothing else), writes only statuses whose version moved,
// and records an Event on each fleet transition (applied, failed, offline). While the Functions app
// does not answer for long, each pod it wrote says so in its message (phase, reason and conditions
// stay the last known: the workloads keep running on the devices).
import { setTimeout } from "node:timers/promises";
import { PatchStrategy, setHeaderOptions, type CoreV1Api, type V1Pod } from "@kubernetes/client-node";
import type { Logger } from "pino";
import type { ProviderPodStatus } from "../provider/providerContract.js";
import { describeError, isNotFound } from "./kubeErrors.js";
import type { AdapterMetrics } from "./metrics.js";
import { fleetTransitionEvents, writtenStatus, type EventRecorder, type WrittenStatus } from "./podEvents.js";
import type { PodProvider } from "./podProvider.js";

const mergePatch = setHeaderOptions("Content-Type", PatchStrategy.MergePatch);

export interface PodStatusWriterOptions {
  provider: PodProvider;
  core: CoreV1Api;
  events: EventRecorder;
  getPod: (namespace: string, name: string) => V1Pod | undefined;
  nodeAddress: string;
  intervalMs: number;
  /** The least time between two reads of a changed list (default 1 s): each is the node's whole list. */
  minListIntervalMs?: number;
  /** How long the Functions app may fail to answer before the pods' messages say so (default 60 s). */
  staleAfterMs?: number;
  now?: () => Date;
  logger: Logger;
  metrics: AdapterMetrics;
}

/** A minute: the node's ProviderReachable says it at once; pod statuses are rewritten only for a real outage. */
export const DEFAULT_STALE_AFTER_MS = 60_000;

/** The message of a pod whose status the adapter cannot refresh (docs/status-model.md#when-the-functions-app-does-not-answer). */
export function staleStatusMessage(since: Date, lastKnown: string | undefined): string {
  return (
    `status not refreshed: the connector's Functions app does not answer since ${since.toISOString()}; ` +
    `last known: ${lastKnown ?? "(none)"}`
  );
}

/**
 * The status patch for a pod: the provider's status, with what only the node knows (host address,
 * start time). A merge patch keeps fields it does not mention, so a field the provider no longer
 * sets (a `reason` such as WaitingForHubBudget once the pod runs) is cleared with null. qosClass is
 * the apiserver's to set and may not change, so it is never sent. Each condition carries when its
 * status last changed, as a kubelet writes it: the Deployment controller counts minReadySeconds from
 * Ready's lastTransitionTime, and without one a pod never becomes available.
 */
export function podStatusToWrite(
  pod: V1Pod,
  provided: ProviderPodStatus,
  nodeAddress: string,
  now = new Date(),
): Record<string, unknown> {
  const { qosClass: _qosClass, ...status } = provided.status;
  const conditions = status.conditions?.map((condition) => {
    const before = pod.status?.conditions?.find((c) => c.type === condition.type);
    const since = before?.status === condition.status ? before.lastTransitionTime : undefined;
    return { ...condition, lastTransitionTime: since ?? now };
  });
  const written: Record<string, unknown> = {
    ...status,
    ...(conditions && { conditions }),
    hostIP: nodeAddress,
    hostIPs: [{ ip: nodeAddress }],
    startTime: pod.status?.startTime ?? status.startTime ?? pod.metadata?.creationTimestamp ?? new Date(),
  };
  // The merge patch replaces the condition list: keep the one Kubernetes sets on a pod it is about to
  // delete (the taint manager's), which decides whether the pod keeps its configuration (evictionHold.ts).
  const disruption = pod.status?.conditions?.find((c) => c.type === "DisruptionTarget");
  if (disruption) written.conditions = [...(conditions ?? []), disruption];
  for (const field of Object.keys(pod.status ?? {})) {
    if (field !== "qosClass" && written[field] === undefined) written[field] = null;
  }
  return written;
}

/**
 * Whether a status is to be written over the last one: a higher version, or the same version with
 * another reason or message (the app shows or stops showing the hub's trouble without a new version).
 */
function newer(provided: ProviderPodStatus, previous: WrittenStatus): boolean {
  if (provided.version !== previous.version) return provided.version > previous.version;
  return provided.status.reason !== previous.reason || provided.status.message !== previous.message;
}

/**
 * While the node's statuses change without pause (a burst, a rollout on many devices), the long-poll
 * would answer every change at once, and each answer is the node's whole list (850 KB at 1,000 pods)
 * that the app reads from storage: at most one a second keeps a change within about a second of kubectl.
 */
export const DEFAULT_MIN_LIST_INTERVAL_MS = 1_000;

/** How long the adapter asks the app to hold an unchanged list (the app allows nodePodsWait.maxSeconds). */
export const statusWaitSeconds = 50;

/** What the writer keeps of a pod's last written status: enough to compare, name and mark it stale. */
type WrittenPod = WrittenStatus & { namespace: string; name: string };

export class PodStatusWriter {
  private etag: string | undefined;
  /** what was last written per pod uid: its version decides whether to write again */
  private readonly written = new Map<string, WrittenPod>();
  private readonly stopping = new AbortController();
  private running: Promise<void> | undefined;
  /** when listing the statuses first failed, while it fails */
  private failingSince: Date | undefined;
  /** pods whose written status says it is not refreshed: written again once the app answers */
  private readonly markedStale = new Set<string>();

  constructor(private readonly options: PodStatusWriterOptions) {}

  start(): void {
    this.running = this.watch();
  }

  async stop(): Promise<void> {
    this.stopping.abort();
    await this.running;
  }

  /**
   * Long-polls the app (it answers as soon as the node's statuses change), one request after the
   * other. Polls every intervalMs instead while the app cannot wait (an older app), after an error,
   * and while writes fail (the old ETag would bring the same list back at once).
   */
  private async watch(): Promise<void> {
    const { intervalMs, minListIntervalMs = DEFAULT_MIN_LIST_INTERVAL_MS } = this.options;
    const signal = this.stopping.signal;
    while (!signal.aborted) {
      const started = Date.now();
      const { waited, complete, changed } = await this.poll(statusWaitSeconds);
      // a held request that ended: ask again at once, or a second after the last began if the list changed
      let pause = 0;
      if (!(waited && complete)) pause = intervalMs;
      else if (changed) pause = started + minListIntervalMs - Date.now();
      if (pause > 0) await setTimeout(pause, undefined, { signal }).catch(() => undefined);
    }
  }

  /**
   * One poll (held up to `waitSeconds` by an app that can): fetch if changed, write what moved.
   * Never throws: the next poll tries again.
   */
  async poll(waitSeconds = 0): Promise<{ waited: boolean; complete: boolean; changed: boolean }> {
    const { provider, logger, metrics } = this.options;
    let answer;
    try {
      answer = await provider.watchPodStatuses(this.etag, waitSeconds, this.stopping.signal);
    } catch (error) {
      if (this.stopping.signal.aborted) return { waited: false, complete: true, changed: false };
      metrics.errors.inc({ kind: "provider" });
      logger.warn({ err: describeError(error) }, "listing pod statuses failed");
      await this.markStale();
      return { waited: false, complete: false, changed: false };
    }
    this.failingSince = undefined;
    const { list, waited } = answer;
    if (!list) return { waited, complete: true, changed: false }; // 304: nothing changed
    let complete = true;
    const seen = new Set<string>();
    for (const provided of list.pods) {
      seen.add(provided.uid);
      if (!(await this.write(provided))) complete = false;
    }
    for (const uid of this.written.keys()) if (!seen.has(uid)) this.written.delete(uid);
    // Keep the old ETag after a failed write, so the next poll brings the list again.
    if (complete) this.etag = list.version;
    return { waited, complete, changed: true };
  }

  /** After the app failed to answer for long: each written pod's message says so, once. */
  private async markStale(): Promise<void> {
    const now = this.options.now?.() ?? new Date();
    this.failingSince ??= now;
    const staleAfterMs = this.options.staleAfterMs ?? DEFAULT_STALE_AFTER_MS;
    if (now.getTime() - this.failingSince.getTime() < staleAfterMs) return;
    // the list comes whole again once the app answers, and every marked pod is written again
    this.etag = undefined;
    for (const [uid, written] of this.written) {
      if (this.markedStale.has(uid)) continue;
      const pod = this.writablePod({ ...written, uid });
      // a merge patch of the message alone: phase, reason and conditions stay as last written
      const message = staleStatusMessage(this.failingSince, written.message);
      if (pod && (await this.patch(pod, { message }))) this.markedStale.add(uid);
    }
  }

  private async write(provided: ProviderPodStatus): Promise<boolean> {
    const { logger, events } = this.options;
    const previous = this.written.get(provided.uid);
    const stale = this.markedStale.has(provided.uid);
    if (previous && !stale && !newer(provided, previous)) return true;
    const pod = this.writablePod(provided);
    if (!pod) return true;
    if (!(await this.patch(pod, podStatusToWrite(pod, provided, this.options.nodeAddress)))) return false;
    this.markedStale.delete(provided.uid);
    this.written.set(provided.uid, {
      ...writtenStatus(provided),
      namespace: provided.namespace,
      name: provided.name,
    });
    for (const event of fleetTransitionEvents(previous, provided)) await events.record(pod, event);
    logger.debug(
      {
        pod: `${provided.namespace}/${provided.name}`,
        version: provided.version,
        phase: provided.status.phase,
      },
      "pod status written",
    );
    return true;
  }

  /** The pod to write to; undefined when not (yet) in the cache, another pod of the name, or being deleted. */
  private writablePod(ref: { namespace: string; name: string; uid: string }): V1Pod | undefined {
    const pod = this.options.getPod(ref.namespace, ref.name);
    if (!pod || pod.metadata?.uid !== ref.uid || pod.metadata.deletionTimestamp) return undefined;
    return pod;
  }

  /** Merge-patches the pod's status; false when the write failed. */
  private async patch(pod: V1Pod, status: Record<string, unknown>): Promise<boolean> {
    const { core, logger, metrics } = this.options;
    const name = pod.metadata?.name ?? "";
    const namespace = pod.metadata?.namespace ?? "";
    try {
      await core.patchNamespacedPodStatus({ name, namespace, body: { status } }, mergePatch);
    } catch (error) {
      if (isNotFound(error)) return true;
      metrics.errors.inc({ kind: "status_write" });
      logger.warn({ pod: `${namespace}/${name}`, err: describeError(error) }, "writing pod status failed");
      return false;
    }
    return true;
  }
}
