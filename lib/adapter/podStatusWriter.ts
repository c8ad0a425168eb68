// Writes the provider's pod statuses to the pods' status subresource. Polls the node's pod list
// with If-None-Match (an unchanged list costs a 304 and nothing else), writes only statuses whose
// version moved, and records an Event on each fleet transition (applied, failed, offline). While the
// Functions app does not answer for long, each pod it wrote says so in its message (phase, reason and
// conditions stay the last known: the workloads keep running on the devices).
import { PatchStrategy, setHeaderOptions, type CoreV1Api, type V1Pod } from "@kubernetes/client-node";
import type { Logger } from "pino";
import type { ProviderPodStatus } from "../provider/providerContract.js";
import { describeError, isNotFound } from "./kubeErrors.js";
import type { AdapterMetrics } from "./metrics.js";
import { fleetTransitionEvents, type EventRecorder } from "./podEvents.js";
import type { PodProvider } from "./podProvider.js";

const mergePatch = setHeaderOptions("Content-Type", PatchStrategy.MergePatch);

export interface PodStatusWriterOptions {
  provider: PodProvider;
  core: CoreV1Api;
  events: EventRecorder;
  getPod: (namespace: string, name: string) => V1Pod | undefined;
  nodeAddress: string;
  intervalMs: number;
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

/**
 * Whether a status is to be written over the last one: a higher version, or the same version with
 * another reason or message (the app shows or stops showing the hub's trouble without a new version).
 */
function newer(provided: ProviderPodStatus, previous: ProviderPodStatus): boolean {
  if (provided.version !== previous.version) return provided.version > previous.version;
  return (
    provided.status.reason !== previous.status.reason || provided.status.message !== previous.status.message
  );
}

export class PodStatusWriter {
  private etag: string | undefined;
  /** last status written per pod uid: its version decides whether to write again */
  private readonly written = new Map<string, ProviderPodStatus>();
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  /** when listing the statuses first failed, while it fails */
  private failingSince: Date | undefined;
  /** pods whose written status says it is not refreshed: written again once the app answers */
  private readonly markedStale = new Set<string>();

  constructor(private readonly options: PodStatusWriterOptions) {}

  start(): void {
    this.timer = setInterval(() => {
      this.running ??= this.poll().finally(() => (this.running = undefined));
    }, this.options.intervalMs);
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    await this.running;
  }

  /** One poll: fetch if changed, write what moved. Never throws: the next poll tries again. */
  async poll(): Promise<void> {
    const { provider, logger, metrics } = this.options;
    let list;
    try {
      list = await provider.listPodStatuses(this.etag);
    } catch (error) {
      metrics.errors.inc({ kind: "provider" });
      logger.warn({ err: describeError(error) }, "listing pod statuses failed");
      await this.markStale();
      return;
    }
    this.failingSince = undefined;
    if (!list) return; // 304: nothing changed
    let complete = true;
    const seen = new Set<string>();
    for (const provided of list.pods) {
      seen.add(provided.uid);
      if (!(await this.write(provided))) complete = false;
    }
    for (const uid of this.written.keys()) if (!seen.has(uid)) this.written.delete(uid);
    // Keep the old ETag after a failed write, so the next poll brings the list again.
    if (complete) this.etag = list.version;
  }

  /** After the app failed to answer for long: each written pod's message says so, once. */
  private async markStale(): Promise<void> {
    const now = this.options.now?.() ?? new Date();
    this.failingSince ??= now;
    const staleAfterMs = this.options.staleAfterMs ?? DEFAULT_STALE_AFTER_MS;
    if (now.getTime() - this.failingSince.getTime() < staleAfterMs) return;
    // the list comes whole again once the app answers, and every marked pod is written again
    this.etag = undefined;
    for (const provided of this.written.values()) {
      if (this.markedStale.has(provided.uid)) continue;
      const message = staleStatusMessage(this.failingSince, provided.status.message);
      const pod = this.writablePod(provided);
      if (pod && (await this.patch(pod, { ...provided, status: { ...provided.status, message } })))
        this.markedStale.add(provided.uid);
    }
  }

  private async write(provided: ProviderPodStatus): Promise<boolean> {
    const { logger, events } = this.options;
    const previous = this.written.get(provided.uid);
    const stale = this.markedStale.has(provided.uid);
    if (previous && !stale && !newer(provided, previous)) return true;
    const pod = this.writablePod(provided);
    if (!pod) return true;
    if (!(await this.patch(pod, provided))) return false;
    this.markedStale.delete(provided.uid);
    this.written.set(provided.uid, provided);
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
  private writablePod(provided: ProviderPodStatus): V1Pod | undefined {
    const pod = this.options.getPod(provided.namespace, provided.name);
    if (!pod || pod.metadata?.uid !== provided.uid || pod.metadata.deletionTimestamp) return undefined;
    return pod;
  }

  /** Patches the pod's status; false when the write failed. */
  private async patch(pod: V1Pod, provided: ProviderPodStatus): Promise<boolean> {
    const { core, logger, metrics, nodeAddress } = this.options;
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
    return true;
  }
}
