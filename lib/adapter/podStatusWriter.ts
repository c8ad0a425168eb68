// Writes the provider's pod statuses to the pods' status subresource. Long-polls the node's pod
// list with If-None-Match (the app holds an unchanged list until it changes, then answers; an
// unchanged list costs a 304 per wait and nothing else), writes only statuses whose version moved,
// and records an Event on each fleet transition (applied, failed, offline).
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
  logger: Logger;
  metrics: AdapterMetrics;
}

/**
 * The status patch for a pod: the provider's status, with what only the node knows (host address,
 * start time). A merge patch keeps fields it does not mention, so a field the provider no longer
 * sets (a `reason` such as WaitingForHubBudget once the pod runs) is cleared with null. qosClass is
 * the apiserver's to set and may not change, so it is never sent.
 */
export function podStatusToWrite(
  pod: V1Pod,
  provided: ProviderPodStatus,
  nodeAddress: string,
): Record<string, unknown> {
  const { qosClass: _qosClass, ...status } = provided.status;
  const written: Record<string, unknown> = {
    ...status,
    hostIP: nodeAddress,
    hostIPs: [{ ip: nodeAddress }],
    startTime: pod.status?.startTime ?? status.startTime ?? pod.metadata?.creationTimestamp ?? new Date(),
  };
  // The merge patch replaces the condition list: keep the one Kubernetes sets on a pod it is about to
  // delete (the taint manager's), which decides whether the pod keeps its configuration (evictionHold.ts).
  const disruption = pod.status?.conditions?.find((c) => c.type === "DisruptionTarget");
  if (disruption) written.conditions = [...(status.conditions ?? []), disruption];
  for (const field of Object.keys(pod.status ?? {})) {
    if (field !== "qosClass" && written[field] === undefined) written[field] = null;
  }
  return written;
}

/** How long the adapter asks the app to hold an unchanged list (the app allows nodePodsWait.maxSeconds). */
export const statusWaitSeconds = 50;

export class PodStatusWriter {
  private etag: string | undefined;
  /** what was last written per pod uid: its version decides whether to write again */
  private readonly written = new Map<string, WrittenStatus>();
  private readonly stopping = new AbortController();
  private running: Promise<void> | undefined;

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
    const { intervalMs } = this.options;
    const signal = this.stopping.signal;
    while (!signal.aborted) {
      const { waited, complete } = await this.poll(statusWaitSeconds);
      if (waited && complete) continue;
      await setTimeout(intervalMs, undefined, { signal }).catch(() => undefined);
    }
  }

  /**
   * One poll (held up to `waitSeconds` by an app that can): fetch if changed, write what moved.
   * Never throws: the next poll tries again.
   */
  async poll(waitSeconds = 0): Promise<{ waited: boolean; complete: boolean }> {
    const { provider, logger, metrics } = this.options;
    let answer;
    try {
      answer = await provider.watchPodStatuses(this.etag, waitSeconds, this.stopping.signal);
    } catch (error) {
      if (this.stopping.signal.aborted) return { waited: false, complete: true };
      metrics.errors.inc({ kind: "provider" });
      logger.warn({ err: describeError(error) }, "listing pod statuses failed");
      return { waited: false, complete: false };
    }
    const { list, waited } = answer;
    if (!list) return { waited, complete: true }; // 304: nothing changed
    let complete = true;
    const seen = new Set<string>();
    for (const provided of list.pods) {
      seen.add(provided.uid);
      if (!(await this.write(provided))) complete = false;
    }
    for (const uid of this.written.keys()) if (!seen.has(uid)) this.written.delete(uid);
    // Keep the old ETag after a failed write, so the next poll brings the list again.
    if (complete) this.etag = list.version;
    return { waited, complete };
  }

  private async write(provided: ProviderPodStatus): Promise<boolean> {
    const { core, getPod, logger, metrics, events, nodeAddress } = this.options;
    const previous = this.written.get(provided.uid);
    if (previous && previous.version >= provided.version) return true;
    const pod = getPod(provided.namespace, provided.name);
    // Not (yet) in the cache, another pod under the same name, or being deleted: nothing to write.
    if (!pod || pod.metadata?.uid !== provided.uid || pod.metadata.deletionTimestamp) return true;
    const key = `${provided.namespace}/${provided.name}`;
    try {
      await core.patchNamespacedPodStatus(
        {
          name: provided.name,
          namespace: provided.namespace,
          body: { status: podStatusToWrite(pod, provided, nodeAddress) },
        },
        mergePatch,
      );
    } catch (error) {
      if (isNotFound(error)) return true;
      metrics.errors.inc({ kind: "status_write" });
      logger.warn({ pod: key, err: describeError(error) }, "writing pod status failed");
      return false;
    }
    this.written.set(provided.uid, writtenStatus(provided));
    for (const event of fleetTransitionEvents(previous, provided)) await events.record(pod, event);
    logger.debug({ pod: key, version: provided.version, phase: provided.status.phase }, "pod status written");
    return true;
  }
}
