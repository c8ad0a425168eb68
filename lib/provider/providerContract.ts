// The provider API between the in-cluster adapter and the Functions app: routes and JSON shapes.
// Both sides import this file, so the adapter's client and the app's handlers cannot drift apart.
import type { V1Pod, V1PodStatus } from "@kubernetes/client-node";
import type { FleetCounts } from "../status/statusContract.js";

/** Every route lives under this prefix (the host's `api/` route prefix comes before it). */
export const providerApiVersion = "v1";

/** Route templates as registered with `app.http({ route })`; `{hub}` is the IoT Hub name. */
export const providerRoutes = {
  /** PUT: create or update a pod (idempotent for the same uid and content). */
  pod: "v1/hubs/{hub}/namespaces/{namespace}/pods/{name}",
  /** GET: one pod's status. */
  podStatus: "v1/hubs/{hub}/namespaces/{namespace}/pods/{name}/status",
  /** GET: log lines of one container from one device (?device=&tail=&since=). */
  containerLogs: "v1/hubs/{hub}/namespaces/{namespace}/pods/{name}/containers/{container}/logs",
  /**
   * GET: the statuses of every pod of a virtual node; ETag / If-None-Match → 304. With `?wait=`
   * (seconds, see `nodePodsWait`) an unchanged list is held until it changes or the wait ends.
   */
  nodePods: "v1/hubs/{hub}/nodes/{node}/pods",
  /** POST: the adapter's list of live pods after a restart; the app removes what belongs to no pod. */
  nodeReconcile: "v1/hubs/{hub}/nodes/{node}/reconcile",
  /** GET: capacity and conditions of the virtual node (hub reachable, devices connected). */
  nodeConditions: "v1/hubs/{hub}/nodes/{node}/conditions",
} as const;

/**
 * The long-poll of a node's pod statuses: the adapter sends `?wait=<seconds>` with If-None-Match,
 * and an app that waits says so in the `header` of every answer (with the seconds it waited at
 * most); without it (an older app) the adapter polls. The wait stays far below the 230 s an HTTP
 * request may take behind Azure's front ends.
 */
export const nodePodsWait = {
  query: "wait",
  header: "x-connector-wait",
  maxSeconds: 60,
} as const;

/** What the adapter resolved from the cluster for one pod (k8s shapes; Secret data base64). */
export interface ResolvedObjects {
  configMaps: Record<string, { data?: Record<string, string> }>;
  secrets: Record<string, { type?: string; data?: Record<string, string> }>;
}

/**
 * Where the pod's Deployment's rollout stands, when it is a replica of a new ReplicaSet while older
 * ones still have replicas on the node: its configuration reaches the first `percent` rollout buckets
 * of its devices (docs/staged-rollouts.md). Absent: all of them.
 */
export interface RolloutStage {
  /** 1-99 */
  percent: number;
}

/** PUT pod body. `pod.metadata.uid` is required; a different uid under the same name is a new pod. */
export interface PutPodRequest {
  node: string;
  pod: V1Pod;
  resolved: ResolvedObjects;
  rollout?: RolloutStage;
}

/** DELETE pod: query `?uid=`; answers 202 and the removal proceeds in the background. */

/** A pod's status as the provider reports it: what the adapter writes to the status subresource. */
export interface ProviderPodStatus {
  namespace: string;
  name: string;
  uid: string;
  /** the IoT Hub configuration the pod is deployed by (shared by replicas), when there is one */
  configurationId?: string;
  /** the Kubernetes status to write (phase, conditions, containerStatuses, reason, message) */
  status: V1PodStatus;
  fleet: FleetCounts;
  /** increases with every change of this pod's status; the adapter emits Events on changes */
  version: number;
}

export interface NodePodsResponse {
  hub: string;
  node: string;
  /** also sent as the ETag header */
  version: string;
  pods: ProviderPodStatus[];
}

export interface NodeReconcileRequest {
  /** `namespace/name/uid` of every pod the cluster has on the node */
  pods: string[];
}

export interface NodeConditionsResponse {
  hub: string;
  hubReachable: boolean;
  devicesTotal: number;
  devicesConnected: number;
  deployments: { used: number; limit: number };
  /** node conditions to write (Ready, and the connector's own) */
  conditions: { type: string; status: "True" | "False" | "Unknown"; reason: string; message: string }[];
  capacity: Record<string, string>;
}

/** Error body of every 4xx/5xx: the field (when one is at fault) and the reason. */
export interface ProviderError {
  error: { code: string; message: string; field?: string; problems?: { field: string; reason: string }[] };
}
