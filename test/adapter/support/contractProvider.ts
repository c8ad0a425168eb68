// A STAND-IN for the Functions app in the adapter's tests, until the app's provider API runs on the
// local host: a small HTTP server implementing lib/provider/providerContract.ts routes and shapes
// with in-memory state. A pod is "applied on every targeted device" as soon as it is put; a pod with
// initContainers is refused with the field, as the translator does. The node's pod list long-polls
// as the app's does (`?wait=`: an unchanged list is held until it changes or the wait ends), unless
// told to play an older app. It can be stopped and restarted on the same port to play a provider
// outage. Binds 127.0.0.1 only.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { V1Pod } from "@kubernetes/client-node";
import { ProviderHttpError } from "../../../lib/provider/providerErrors.js";
import { parseNodePodsWait } from "../../../lib/provider/providerRequests.js";
import {
  nodePodsWait,
  providerRoutes,
  type NodeConditionsResponse,
  type NodePodsResponse,
  type NodeReconcileRequest,
  type ProviderError,
  type ProviderPodStatus,
  type PutPodRequest,
} from "../../../lib/provider/providerContract.js";

export interface ProviderCall {
  method: string;
  route: keyof typeof providerRoutes;
  params: Record<string, string>;
  query: URLSearchParams;
  body?: unknown;
  status: number;
  /** epoch ms the call arrived */
  at: number;
}

interface StoredPod {
  pod: V1Pod;
  status: ProviderPodStatus;
}

const DEVICES = 2;

/** Route templates as regular expressions with named groups. */
const routeMatchers = Object.entries(providerRoutes).map(([route, template]) => ({
  route: route as keyof typeof providerRoutes,
  pattern: new RegExp(`^/api/${template.replace(/\{(\w+)\}/g, "(?<$1>[^/]+)")}$`),
}));

export class ContractProvider {
  readonly calls: ProviderCall[] = [];
  readonly pods = new Map<string, StoredPod>();
  reconciled: string[] | undefined;
  /** removals wait this long before the pod is gone (the app removes in the background) */
  removalDelayMs = 0;
  /** while true, accepted removals wait for finishRemovals() instead */
  holdRemovals = false;
  /** the node's pod capacity it reports (benchmarks put more pods on the node) */
  capacityPods = 100;
  /** false plays an older app: `?wait=` is ignored and the answer comes at once, without the wait header */
  waits = true;
  /** the next this many PUTs are answered 503 with `Retry-After: busyRetryAfterSeconds`, as a busy app does */
  busyPuts = 0;
  busyRetryAfterSeconds = 1;
  private readonly heldRemovals: (() => void)[] = [];
  private server: Server | undefined;
  private version = 1;
  private nextPodVersion = 1;
  /** long-polls held until the node's pods change */
  private readonly held = new Set<() => void>();

  private constructor(
    readonly functionKey: string,
    private port: number,
  ) {}

  static async start(functionKey: string): Promise<ContractProvider> {
    const provider = new ContractProvider(functionKey, 0);
    await provider.listen();
    return provider;
  }

  get baseUrl(): string {
    return `http://127.0.0.1:${this.port}/api`;
  }

  /** Outage: stop answering (connections refused) until restart(). */
  async stop(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    if (!server) return;
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  }

  async restart(): Promise<void> {
    await this.listen();
  }

  /** The held removals complete: those pods are gone. */
  /** The app's reason and message for a pod change without its version (the hub's trouble starts or ends). */
  setReason(key: string, reason: string | undefined, message: string): void {
    const stored = this.pods.get(key);
    if (!stored) throw new Error(`no pod ${key}`);
    stored.status = {
      ...stored.status,
      status: { ...stored.status.status, reason, message },
    };
    this.changed();
  }

  finishRemovals(): void {
    for (const finish of this.heldRemovals.splice(0)) finish();
  }

  callsTo(route: ProviderCall["route"], method?: string): ProviderCall[] {
    return this.calls.filter(
      (call) => call.route === route && (method === undefined || call.method === method),
    );
  }

  /** The node's pods changed: a new list version, and every held long-poll answers it. */
  private changed(): void {
    this.version += 1;
    for (const release of [...this.held]) release();
  }

  /** Resolves when the node's pods change, the wait ends, or the connection closes. */
  private changeOrEnd(waitMs: number, response: ServerResponse): Promise<void> {
    return new Promise((resolve) => {
      const release = () => {
        clearTimeout(timer);
        this.held.delete(release);
        response.off("close", release);
        resolve();
      };
      const timer = setTimeout(release, waitMs);
      this.held.add(release);
      response.once("close", release);
    });
  }

  private listen(): Promise<void> {
    const server = createServer((request, response) => {
      this.handle(request, response).catch((error: unknown) => {
        respond(response, 500, { error: { code: "Internal", message: (error as Error).message } });
      });
    });
    return new Promise((resolve, reject) => {
      server.once("error", reject);
      server.listen(this.port, "127.0.0.1", () => {
        const address = server.address();
        if (address && typeof address === "object") this.port = address.port;
        this.server = server;
        resolve();
      });
    });
  }

  private async handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const url = new URL(request.url ?? "/", "http://provider");
    const matched = routeMatchers
      .map(({ route, pattern }) => ({ route, match: pattern.exec(url.pathname) }))
      .find(({ match }) => match !== null);
    const chunks: Buffer[] = [];
    for await (const chunk of request) chunks.push(chunk as Buffer);
    const text = Buffer.concat(chunks).toString();
    const body: unknown = text ? JSON.parse(text) : undefined;
    if (!matched?.match) return void respond(response, 404, error("NotFound", `no route ${url.pathname}`));
    const params = Object.fromEntries(
      Object.entries(matched.match.groups ?? {}).map(([k, v]) => [k, decodeURIComponent(v)]),
    );
    const call: ProviderCall = {
      method: request.method ?? "GET",
      route: matched.route,
      params,
      query: url.searchParams,
      body,
      status: 0,
      at: Date.now(),
    };
    this.calls.push(call);
    const answer = (status: number, payload?: unknown, headers: Record<string, string> = {}) => {
      call.status = status;
      respond(response, status, payload, headers);
    };
    if (request.headers["x-functions-key"] !== this.functionKey) {
      return answer(401, error("Unauthorized", "missing or wrong function key"));
    }
    const key = `${params.namespace}/${params.name}`;
    switch (`${call.method} ${matched.route}`) {
      case "PUT pod":
        if (this.busyPuts > 0) {
          this.busyPuts -= 1;
          return answer(503, error("AppBusy", "the app's task hub has messages waiting"), {
            "retry-after": String(this.busyRetryAfterSeconds),
          });
        }
        return answer(...this.putPod(key, body as PutPodRequest));
      case "DELETE pod": {
        const stored = this.pods.get(key);
        if (!stored || stored.status.uid !== url.searchParams.get("uid"))
          return answer(404, error("NotFound", `no pod ${key}`));
        const finish = () => {
          if (this.pods.get(key) === stored) this.pods.delete(key);
          this.changed();
        };
        if (this.holdRemovals) this.heldRemovals.push(finish);
        else setTimeout(finish, this.removalDelayMs);
        return answer(202);
      }
      case "GET podStatus": {
        const stored = this.pods.get(key);
        return stored ? answer(200, stored.status) : answer(404, error("NotFound", `no pod ${key}`));
      }
      case "GET nodePods": {
        let waitMs = 0;
        try {
          if (this.waits) waitMs = parseNodePodsWait(url.searchParams);
        } catch (refused) {
          if (refused instanceof ProviderHttpError) return answer(refused.status, { error: refused.body });
          throw refused;
        }
        const waited: Record<string, string> = this.waits
          ? { [nodePodsWait.header]: String(waitMs / 1000) }
          : {};
        const unchanged = () => request.headers["if-none-match"] === `"${this.version}"`;
        if (unchanged() && waitMs > 0) await this.changeOrEnd(waitMs, response);
        if (response.destroyed) return; // the adapter gave up (it stops) or the stand-in stopped
        const etag = `"${this.version}"`;
        if (unchanged()) return answer(304, undefined, { etag, ...waited });
        const list: NodePodsResponse = {
          hub: params.hub ?? "",
          node: params.node ?? "",
          version: etag,
          pods: [...this.pods.values()].map((stored) => stored.status),
        };
        return answer(200, list, { etag, ...waited });
      }
      case "POST nodeReconcile": {
        this.reconciled = (body as NodeReconcileRequest).pods;
        for (const [podKey, stored] of this.pods) {
          if (!this.reconciled.includes(`${podKey}/${stored.status.uid}`)) this.pods.delete(podKey);
        }
        this.changed();
        return answer(200, {});
      }
      case "GET nodeConditions": {
        const conditions: NodeConditionsResponse = {
          hub: params.hub ?? "",
          hubReachable: true,
          devicesTotal: DEVICES,
          devicesConnected: DEVICES,
          deployments: { used: this.pods.size, limit: 100 },
          conditions: [
            {
              type: "HubReachable",
              status: "True",
              reason: "HubReachable",
              message: `${DEVICES} of ${DEVICES} devices connected`,
            },
          ],
          capacity: { pods: String(this.capacityPods), cpu: "8", memory: "16Gi" },
        };
        return answer(200, conditions);
      }
      case "GET containerLogs": {
        if (!this.pods.has(key)) return answer(404, error("NotFound", `no pod ${key}`));
        const device = url.searchParams.get("device") ?? "device-1";
        const lines = Array.from({ length: 5 }, (_, i) => `${device} ${params.container} line ${i + 1}`);
        const tail = Number(url.searchParams.get("tail") ?? lines.length);
        call.status = 200;
        response.writeHead(200, { "content-type": "text/plain", "x-device-id": device });
        return void response.end(lines.slice(-tail).join("\n") + "\n");
      }
      default:
        return answer(405, error("MethodNotAllowed", `${call.method} ${matched.route}`));
    }
  }

  private putPod(key: string, request: PutPodRequest): [number, unknown?] {
    const { pod } = request;
    const uid = pod.metadata?.uid;
    if (!uid) return [400, error("BadRequest", "pod.metadata.uid is required", "pod.metadata.uid")];
    if ((pod.spec?.initContainers ?? []).length > 0) {
      return [400, error("InvalidPod", "IoT Edge has no init containers", "spec.initContainers")];
    }
    const containers = pod.spec?.containers ?? [];
    const now = new Date();
    const status: ProviderPodStatus = {
      namespace: pod.metadata?.namespace ?? "",
      name: pod.metadata?.name ?? "",
      uid,
      configurationId: `k8s-${uid.slice(0, 8)}`,
      version: this.nextPodVersion++,
      fleet: { targeted: DEVICES, applied: DEVICES, running: DEVICES, failed: 0, offline: 0 },
      status: {
        phase: "Running",
        conditions: [
          { type: "PodScheduled", status: "True", lastTransitionTime: now },
          {
            type: "Ready",
            status: "True",
            lastTransitionTime: now,
            message: `running on ${DEVICES} of ${DEVICES} devices`,
          },
        ],
        containerStatuses: containers.map((container) => ({
          name: container.name,
          image: container.image ?? "",
          imageID: "",
          ready: true,
          restartCount: 0,
          started: true,
          state: { running: { startedAt: now } },
        })),
        qosClass: "BestEffort",
      },
    };
    this.pods.set(key, { pod, status });
    this.changed();
    return [200, status];
  }
}

function error(code: string, message: string, field?: string): ProviderError {
  return { error: { code, message, ...(field ? { field } : {}) } };
}

function respond(
  response: ServerResponse,
  status: number,
  payload?: unknown,
  headers: Record<string, string> = {},
) {
  if (payload === undefined) {
    response.writeHead(status, headers);
    return void response.end();
  }
  response.writeHead(status, { "content-type": "application/json", ...headers });
  response.end(JSON.stringify(payload));
}
