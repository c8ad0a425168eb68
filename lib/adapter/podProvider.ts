// What the pod controller needs from whatever runs pods (here: the Functions app over HTTP). Kept
// small, as in virtual-kubelet's PodLifecycleHandler, so the controller never depends on transport.
import type { V1Pod } from "@kubernetes/client-node";
import type {
  NodeConditionsResponse,
  NodePodsResponse,
  ResolvedObjects,
  RolloutStage,
} from "../provider/providerContract.js";

export interface ContainerLogsQuery {
  container: string;
  /** device to read from (one the pod's deployment targets); the provider picks one where it runs when absent */
  device?: string;
  tailLines?: number;
  /** only lines since: a duration ("30s"), unix seconds or an RFC 3339 time */
  since?: string;
  /** each line prefixed with its RFC 3339 time */
  timestamps?: boolean;
}

/** Log lines (one per line, newline-terminated) and the device they came from. */
export interface ContainerLogs {
  deviceId: string;
  text: string;
}

/** A long-poll's answer: the list when it changed, and whether the provider waited for a change. */
export interface WatchedPodStatuses {
  list?: NodePodsResponse;
  waited: boolean;
}

export interface PodProvider {
  /** create or update (idempotent for the same uid, content and stage); `rollout`: its Deployment's stage */
  putPod(pod: V1Pod, resolved: ResolvedObjects, rollout?: RolloutStage): Promise<void>;
  /** start removing a pod; resolves once the provider accepted the removal */
  deletePod(namespace: string, name: string, uid: string): Promise<void>;
  /** the provider's status of one pod, or undefined when it has no such pod (any more) */
  getPodStatus(namespace: string, name: string): Promise<{ uid: string } | undefined>;
  /** every pod status of the node; `undefined` when unchanged since `etag` */
  listPodStatuses(etag?: string): Promise<NodePodsResponse | undefined>;
  /**
   * the same, where the provider holds an unchanged list up to `waitSeconds` until it changes
   * (a long-poll); `waited` says whether it can (an older app answers at once)
   */
  watchPodStatuses(
    etag: string | undefined,
    waitSeconds: number,
    signal?: AbortSignal,
  ): Promise<WatchedPodStatuses>;
  /** the cluster's live pods (`namespace/name/uid`) after a restart; the provider drops the rest */
  reconcile(livePods: string[]): Promise<void>;
  nodeConditions(): Promise<NodeConditionsResponse>;
  containerLogs(namespace: string, name: string, query: ContainerLogsQuery): Promise<ContainerLogs>;
}

/** A provider call that failed: the route, the HTTP status (0 = unreachable) and the app's reason. */
export class ProviderCallError extends Error {
  constructor(
    readonly route: string,
    readonly status: number,
    readonly reason: string,
    readonly field?: string,
    /** from the answer's Retry-After (a busy app: 503, 429) */
    readonly retryAfterMs?: number,
  ) {
    super(`provider ${route}: ${status === 0 ? "unreachable" : `HTTP ${status}`}: ${reason}`);
    this.name = "ProviderCallError";
  }

  /** The Retry-After of a provider call this error is or was caused by, if it named one. */
  static retryAfterMs(error: unknown): number | undefined {
    for (let cause = error; cause instanceof Error; cause = cause.cause)
      if (cause instanceof ProviderCallError) return cause.retryAfterMs;
    return undefined;
  }

  /** 4xx other than 408/429: retrying the same request cannot help */
  get permanent(): boolean {
    return this.status >= 400 && this.status < 500 && this.status !== 408 && this.status !== 429;
  }
}
