// The provider API client: the Functions app's HTTP routes from providerContract.ts, called with
// the function key in `x-functions-key` (never logged: errors name the route, not the URL's query
// or headers). Implements PodProvider for the controllers.
import type { V1Pod } from "@kubernetes/client-node";
import {
  nodePodsWait,
  providerRoutes,
  type NodeConditionsResponse,
  type NodePodsResponse,
  type NodeReconcileRequest,
  type ProviderError,
  type PutPodRequest,
  type ResolvedObjects,
  type RolloutStage,
} from "../provider/providerContract.js";
import type { AdapterMetrics } from "./metrics.js";
import {
  ProviderCallError,
  type ContainerLogs,
  type ContainerLogsQuery,
  type PodProvider,
  type WatchedPodStatuses,
} from "./podProvider.js";

export interface ProviderClientOptions {
  baseUrl: string;
  functionKey: string;
  hubName: string;
  nodeName: string;
  metrics?: AdapterMetrics;
  /** per call; a hung app must not hold a pod's work forever */
  timeoutMs?: number;
}

type RouteName = keyof typeof providerRoutes;

export class ProviderClient implements PodProvider {
  private readonly timeoutMs: number;

  constructor(private readonly options: ProviderClientOptions) {
    this.timeoutMs = options.timeoutMs ?? 30_000;
  }

  async putPod(pod: V1Pod, resolved: ResolvedObjects, rollout?: RolloutStage): Promise<void> {
    const body: PutPodRequest = { node: this.options.nodeName, pod, resolved, ...(rollout && { rollout }) };
    const { namespace = "", name = "" } = pod.metadata ?? {};
    await this.call("pod", { namespace, name }, { method: "PUT", body });
  }

  async deletePod(namespace: string, name: string, uid: string): Promise<void> {
    await this.call("pod", { namespace, name }, { method: "DELETE", query: { uid }, allow404: true });
  }

  async getPodStatus(namespace: string, name: string): Promise<{ uid: string } | undefined> {
    const response = await this.call("podStatus", { namespace, name }, { allow404: true });
    return response.status === 404 ? undefined : ((await response.json()) as { uid: string });
  }

  async listPodStatuses(etag?: string): Promise<NodePodsResponse | undefined> {
    const headers: Record<string, string> = etag ? { "if-none-match": etag } : {};
    const response = await this.call("nodePods", { node: this.options.nodeName }, { headers });
    if (response.status === 304) return undefined;
    return (await response.json()) as NodePodsResponse;
  }

  async watchPodStatuses(
    etag: string | undefined,
    waitSeconds: number,
    signal?: AbortSignal,
  ): Promise<WatchedPodStatuses> {
    const response = await this.call(
      "nodePods",
      { node: this.options.nodeName },
      {
        headers: etag ? { "if-none-match": etag } : {},
        query: { [nodePodsWait.query]: String(waitSeconds) },
        timeoutMs: waitSeconds * 1000 + this.timeoutMs,
        signal,
      },
    );
    const waited = response.headers.has(nodePodsWait.header);
    if (response.status === 304) return { waited };
    return { list: (await response.json()) as NodePodsResponse, waited };
  }

  async reconcile(livePods: string[]): Promise<void> {
    const body: NodeReconcileRequest = { pods: livePods };
    await this.call("nodeReconcile", { node: this.options.nodeName }, { method: "POST", body });
  }

  async nodeConditions(): Promise<NodeConditionsResponse> {
    const response = await this.call("nodeConditions", { node: this.options.nodeName });
    return (await response.json()) as NodeConditionsResponse;
  }

  async containerLogs(namespace: string, name: string, query: ContainerLogsQuery): Promise<ContainerLogs> {
    const search: Record<string, string> = {};
    if (query.device) search.device = query.device;
    if (query.tailLines !== undefined) search.tail = String(query.tailLines);
    if (query.since !== undefined) search.since = query.since;
    if (query.timestamps) search.timestamps = "true";
    const response = await this.call(
      "containerLogs",
      { namespace, name, container: query.container },
      { query: search },
    );
    return { deviceId: response.headers.get("x-device-id") ?? "", text: await response.text() };
  }

  private url(route: RouteName, parameters: Record<string, string>, query: Record<string, string>): string {
    const path = providerRoutes[route].replace(/\{(\w+)\}/g, (_, key: string) => {
      const value = key === "hub" ? this.options.hubName : parameters[key];
      if (value === undefined) throw new Error(`provider ${route}: no value for {${key}}`);
      return encodeURIComponent(value);
    });
    const search = new URLSearchParams(query).toString();
    return `${this.options.baseUrl}/${path}${search ? `?${search}` : ""}`;
  }

  private async call(
    route: RouteName,
    parameters: Record<string, string>,
    request: {
      method?: string;
      body?: unknown;
      query?: Record<string, string>;
      headers?: Record<string, string>;
      allow404?: boolean;
      timeoutMs?: number;
      signal?: AbortSignal;
    } = {},
  ): Promise<Response> {
    const stopTimer = this.options.metrics?.providerLatency.startTimer({ route });
    let outcome = "error";
    try {
      const response = await fetch(this.url(route, parameters, request.query ?? {}), {
        method: request.method ?? "GET",
        headers: {
          "x-functions-key": this.options.functionKey,
          ...(request.body === undefined ? {} : { "content-type": "application/json" }),
          ...request.headers,
        },
        body: request.body === undefined ? undefined : JSON.stringify(request.body),
        signal: AbortSignal.any([
          AbortSignal.timeout(request.timeoutMs ?? this.timeoutMs),
          ...(request.signal ? [request.signal] : []),
        ]),
      }).catch((error: unknown) => {
        throw new ProviderCallError(route, 0, errorCode(error));
      });
      outcome = String(response.status);
      if (response.ok || response.status === 304 || (request.allow404 && response.status === 404))
        return response;
      const { reason, field } = await errorReason(response);
      throw new ProviderCallError(route, response.status, reason, field, retryAfterMs(response));
    } finally {
      stopTimer?.({ outcome });
    }
  }
}

/**
 * A 429's or 503's Retry-After in seconds (the provider's form; an HTTP date is not sent) as ms,
 * capped at 5 minutes; undefined for any other answer.
 */
export function retryAfterMs(response: Response): number | undefined {
  const header = response.headers.get("retry-after")?.trim();
  if ((response.status !== 429 && response.status !== 503) || !header || !/^\d+$/.test(header))
    return undefined;
  return Math.min(Number(header), 300) * 1000;
}

/** A network failure's code (ECONNREFUSED, timeout), never the URL it carried. */
function errorCode(error: unknown): string {
  if (error instanceof Error && error.name === "TimeoutError") return "timed out";
  const cause =
    error instanceof Error ? (error.cause as { code?: string; message?: string } | undefined) : undefined;
  return cause?.code ?? cause?.message ?? "network error";
}

async function errorReason(response: Response): Promise<{ reason: string; field?: string }> {
  const text = await response.text().catch(() => "");
  try {
    const body = JSON.parse(text) as ProviderError;
    if (typeof body.error?.message === "string")
      return { reason: body.error.message, field: body.error.field };
  } catch {
    // not the contract's error shape: fall back to the start of the text
  }
  return { reason: text.slice(0, 200) || response.statusText };
}
