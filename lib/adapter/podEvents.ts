// Kubernetes Events the adapter records on a pod's transitions and on its node's (kubectl describe
// shows them), and which transitions of the provider's fleet status deserve one. Recording is best
// effort: a lost Event must never fail the pod's or the node's work.
import type { CoreV1Api, V1ObjectReference, V1Pod } from "@kubernetes/client-node";
import type { Logger } from "pino";
import type { ProviderPodStatus } from "../provider/providerContract.js";
import { redact } from "../hub/redact.js";
import { describeError } from "./kubeErrors.js";

export interface PodEvent {
  type: "Normal" | "Warning";
  reason: string;
  message: string;
}

/**
 * What the adapter keeps of the last status it wrote for a pod: the version, and what the transition
 * events compare. One small flat object per pod, since a node holds thousands.
 */
export interface WrittenStatus {
  version: number;
  refused: boolean;
  applied: number;
  failed: number;
  offline: number;
  /** the reason and message written: the app changes them without a new version (the hub's trouble) */
  reason?: string;
  message?: string;
}

export function writtenStatus(status: ProviderPodStatus): WrittenStatus {
  const { applied, failed, offline } = status.fleet;
  const { reason, message } = status.status;
  return {
    version: status.version,
    refused: status.status.phase === "Failed",
    applied,
    failed,
    offline,
    reason,
    message,
  };
}

/**
 * Whether a device count that went from `before` to `now` reached 1, 10, 100, …: a fleet reports
 * device by device, and an Event for each (on each replica) would flood the apiserver, so the counts
 * between are in the pod's status only.
 */
function reachedStep(before: number, now: number): boolean {
  for (let step = 1; step <= now; step *= 10) if (before < step) return true;
  return false;
}

/**
 * Events for the change from `previous` (as written) to `current` status of the same pod (uid): the
 * refusal, and a device count reaching 1, 10, 100, … (or, for applied, all targeted devices).
 */
export function fleetTransitionEvents(
  previous: WrittenStatus | undefined,
  current: ProviderPodStatus,
): PodEvent[] {
  const events: PodEvent[] = [];
  // Refused by the app (its fleet policy, the translation, the hub's scheduler or the hub).
  if (current.status.phase === "Failed" && !previous?.refused) {
    events.push({
      type: "Warning",
      reason: current.status.reason ?? "Failed",
      message: current.status.message ?? "refused",
    });
  }
  const before = previous;
  const now = current.fleet;
  const appliedBefore = before?.applied ?? 0;
  const appliedAll = now.applied === now.targeted && now.applied !== appliedBefore;
  if (now.applied > 0 && (reachedStep(appliedBefore, now.applied) || appliedAll)) {
    events.push({
      type: "Normal",
      reason: "Applied",
      message: `${current.configurationId ? `deployment ${current.configurationId}` : "deployment"} applied on ${now.applied} of ${now.targeted} targeted devices`,
    });
  }
  if (reachedStep(before?.failed ?? 0, now.failed)) {
    events.push({
      type: "Warning",
      reason: "DeviceFailed",
      message: `failed on ${now.failed} of ${now.targeted} targeted devices${current.status.message ? `: ${current.status.message}` : ""}`,
    });
  }
  if (reachedStep(before?.offline ?? 0, now.offline)) {
    events.push({
      type: "Warning",
      reason: "DeviceOffline",
      message: `${now.offline} targeted devices are disconnected`,
    });
  }
  return events;
}

export class EventRecorder {
  constructor(
    private readonly core: CoreV1Api,
    private readonly component: { nodeName: string },
    private readonly logger: Logger,
  ) {}

  async record(pod: V1Pod, event: PodEvent): Promise<void> {
    const namespace = pod.metadata?.namespace ?? "default";
    const name = pod.metadata?.name ?? "";
    await this.create(
      namespace,
      { apiVersion: "v1", kind: "Pod", namespace, name, uid: pod.metadata?.uid },
      event,
    );
  }

  /** On the virtual node itself, in `default` as the kubelet records its node's Events. */
  async recordOnNode(event: PodEvent): Promise<void> {
    const name = this.component.nodeName;
    await this.create("default", { apiVersion: "v1", kind: "Node", name, uid: name }, event);
  }

  private async create(namespace: string, involvedObject: V1ObjectReference, event: PodEvent): Promise<void> {
    const now = new Date();
    try {
      await this.core.createNamespacedEvent({
        namespace,
        body: {
          metadata: { generateName: `${involvedObject.name}.`, namespace },
          involvedObject,
          type: event.type,
          reason: event.reason,
          message: redact(event.message).slice(0, 1024),
          source: { component: "iot-edge-connector", host: this.component.nodeName },
          reportingComponent: "iot-edge-connector",
          reportingInstance: this.component.nodeName,
          firstTimestamp: now,
          lastTimestamp: now,
          count: 1,
        },
      });
    } catch (error) {
      this.logger.warn(
        {
          object: `${involvedObject.kind} ${namespace}/${involvedObject.name}`,
          reason: event.reason,
          err: describeError(error),
        },
        "recording event failed",
      );
    }
  }
}
