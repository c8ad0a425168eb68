// Writes the provider's pod statuses to the pods' status subresource. Polls the node's pod list
// with If-None-Match (an unchanged list costs a 304 and nothing else), writes only statuses whose
// version moved, and records an Event on each fleet transition (applied, failed, offline). When the
// provider stops answering, each pod's status says so (its workload keeps running on the devices),
// and every status is written again once it answers. The last list is kept for the reconciler.
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
  for (const field of Object.keys(pod.status ?? {})) {
    if (field !== "qosClass" && written[field] === undefined) written[field] = null;
  }
  return written;
}

/** The provider's latest full list of the node's pods, and when it was read. */
export interface ProviderList {
  pods: readonly ProviderPodStatus[];
  readAtMs: number;
}

export class PodStatusWriter {
  private etag: string | undefined;
  private list: ProviderList | undefined;
  /** since when the provider does not answer (epoch ms), while it does not */
  private unreachableSince: number | undefined;
  /** pods whose status carries the outage message: written again whatever their version */
  private readonly outdated = new Set<string>();
  /** last status written per pod uid: its version decides whether to write again */
  private readonly written = new Map<string, ProviderPodStatus>();
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;

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

  /** The provider's latest full list (an unchanged one stays current), once there is one. */
  get lastList(): ProviderList | undefined {
    return this.list;
  }

  /** One poll: fetch if changed, write what moved. Never throws: the next poll tries again. */
  async poll(): Promise<void> {
    const { provider, logger, metrics } = this.options;
    const readAtMs = Date.now();
    let list;
    try {
      list = await provider.listPodStatuses(this.etag);
    } catch (error) {
      metrics.errors.inc({ kind: "provider" });
      logger.warn({ err: describeError(error) }, "listing pod statuses failed");
      await this.providerUnreachable(describeError(error), readAtMs);
      return;
    }
    if (this.unreachableSince !== undefined) {
      // back: every status is written again, which clears the outage message
      this.unreachableSince = undefined;
      for (const uid of this.written.keys()) this.outdated.add(uid);
      if (!list) {
        this.etag = undefined;
        return;
      }
    }
    if (this.list !== undefined) this.list = { ...this.list, readAtMs };
    if (!list) return; // 304: nothing changed
    this.list = { pods: list.pods, readAtMs };
    let complete = true;
    const seen = new Set<string>();
    for (const provided of list.pods) {
      seen.add(provided.uid);
      if (!(await this.write(provided))) complete = false;
    }
    for (const uid of this.written.keys())
      if (!seen.has(uid)) {
        this.written.delete(uid);
        this.outdated.delete(uid);
      }
    // Keep the old ETag after a failed write, so the next poll brings the list again.
    if (complete) this.etag = list.version;
  }

  /** The first failed poll of an outage: each pod's status says why it is not current. */
  private async providerUnreachable(reason: string, nowMs: number): Promise<void> {
    if (this.unreachableSince !== undefined) return;
    this.unreachableSince = nowMs;
    const { core, logger, metrics } = this.options;
    const message =
      `the connector's Functions app does not answer (${reason}) since ${new Date(nowMs).toISOString()}: ` +
      "the workload keeps running on its devices; this status is as of then";
    for (const provided of this.written.values()) {
      const pod = this.options.getPod(provided.namespace, provided.name);
      if (!pod || pod.metadata?.uid !== provided.uid || pod.metadata.deletionTimestamp) continue;
      try {
        await core.patchNamespacedPodStatus(
          { name: provided.name, namespace: provided.namespace, body: { status: { message } } },
          mergePatch,
        );
      } catch (error) {
        if (isNotFound(error)) continue;
        metrics.errors.inc({ kind: "status_write" });
        logger.warn(
          { pod: `${provided.namespace}/${provided.name}`, err: describeError(error) },
          "writing pod status failed",
        );
      }
    }
  }

  private async write(provided: ProviderPodStatus): Promise<boolean> {
    const { core, getPod, logger, metrics, events, nodeAddress } = this.options;
    const previous = this.written.get(provided.uid);
    if (previous && previous.version >= provided.version && !this.outdated.has(provided.uid)) return true;
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
    this.written.set(provided.uid, provided);
    this.outdated.delete(provided.uid);
    for (const event of fleetTransitionEvents(previous, provided)) await events.record(pod, event);
    logger.debug({ pod: key, version: provided.version, phase: provided.status.phase }, "pod status written");
    return true;
  }
}
