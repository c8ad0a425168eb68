// What the pod controller needs from whatever runs pods (here: the Functions app over HTTP). Kept
// small, as in virtual-kubelet's PodLifecycleHandler, so the controller never depends on transport.
import type { V1Pod } from "@kubernetes/client-node";
import type {
  NodeConditionsResponse,
  NodeHold,
  NodePodsResponse,
  ResolvedObjects,
} from "../provider/providerContract.js";

export interface ContainerLogsQuery {
  container: string;
  /** device to read from; the provider picks one when absent */
  device?: string;
  tailLines?: number;
  sinceSeconds?: number;
  timestamps?: boolean;
}

export interface PodProvider {
  /** create or update (idempotent for the same uid and content) */
  putPod(pod: V1Pod, resolved: ResolvedObjects): Promise<void>;
  /**
   * start removing a pod; resolves once the provider accepted the removal. `retain`: the pod left
   * without user intent (retention.ts): its configurations are held for its owner, not released.
   */
  deletePod(namespace: string, name: string, uid: string, retain?: boolean): Promise<void>;
  /** the provider's status of one pod, or undefined when it has no such pod (any more) */
  getPodStatus(namespace: string, name: string): Promise<{ uid: string } | undefined>;
  /** every pod status of the node; `undefined` when unchanged since `etag` */
  listPodStatuses(etag?: string): Promise<NodePodsResponse | undefined>;
  /** the cluster's live pods (`namespace/name/uid`) after a restart; the provider drops the rest (held for their owners with `retainGone`) */
  reconcile(livePods: string[], retainGone?: boolean): Promise<void>;
  /** the node's holds: configurations kept for owners whose pods were evicted */
  nodeHolds(): Promise<NodeHold[]>;
  /** the owner is gone or scaled down: its holds on this node are released */
  releaseHolds(ownerUid: string): Promise<void>;
  nodeConditions(): Promise<NodeConditionsResponse>;
  containerLogs(namespace: string, name: string, query: ContainerLogsQuery): Promise<string>;
}

/** A provider call that failed: the route, the HTTP status (0 = unreachable) and the app's reason. */
export class ProviderCallError extends Error {
  constructor(
    readonly route: string,
    readonly status: number,
    readonly reason: string,
    readonly field?: string,
  ) {
    super(`provider ${route}: ${status === 0 ? "unreachable" : `HTTP ${status}`}: ${reason}`);
    this.name = "ProviderCallError";
  }

  /** 4xx other than 408/429: retrying the same request cannot help */
  get permanent(): boolean {
    return this.status >= 400 && this.status < 500 && this.status !== 408 && this.status !== 429;
  }
}
