// The kubelet API the apiserver proxies to (`kubectl logs`, `kubectl exec`, ...), served over TLS.
// Logs come from the devices through the provider; interactive streams cannot reach an IoT Edge
// module, so they get a clear 501 that kubectl prints as the reason.
import { createServer, type Server } from "node:https";
import type { IncomingMessage, ServerResponse } from "node:http";
import type { Duplex } from "node:stream";
import type { V1Pod } from "@kubernetes/client-node";
import type { Logger } from "pino";
import type { PodProvider } from "./podProvider.js";
import { ProviderCallError } from "./podProvider.js";

export interface KubeletApiOptions {
  provider: PodProvider;
  getPod: (namespace: string, name: string) => V1Pod | undefined;
  listPods: () => readonly V1Pod[];
  logger: Logger;
}

const unsupportedStreams = ["exec", "attach", "portForward", "run"] as const;

export function notSupportedMessage(operation: string): string {
  return `${operation} is not supported by IoT Edge: the pod runs as modules on edge devices, which accept no interactive streams; use kubectl logs`;
}

interface Answer {
  status: number;
  body: string;
  contentType?: string;
}

/** Routes one request; exported so the routes are tested without TLS. */
export async function answerKubeletRequest(
  method: string,
  rawUrl: string,
  options: KubeletApiOptions,
): Promise<Answer> {
  const url = new URL(rawUrl, "https://kubelet");
  const parts = url.pathname.split("/").filter(Boolean).map(decodeURIComponent);
  const [root] = parts;
  if (root === "healthz") return { status: 200, body: "ok" };
  if (unsupportedStreams.some((stream) => stream === root))
    return { status: 501, body: notSupportedMessage(root ?? "") };
  if (method !== "GET") return { status: 405, body: `${method} is not allowed on ${url.pathname}` };
  if (root === "pods" && parts.length === 1) {
    return {
      status: 200,
      body: JSON.stringify({ apiVersion: "v1", kind: "PodList", items: options.listPods() }),
      contentType: "application/json",
    };
  }
  if (root === "containerLogs" && parts.length === 4) {
    const [, namespace = "", name = "", container = ""] = parts;
    return containerLogs(namespace, name, container, url.searchParams, options);
  }
  return { status: 404, body: `${url.pathname} is not served by the IoT Edge virtual kubelet` };
}

async function containerLogs(
  namespace: string,
  name: string,
  container: string,
  search: URLSearchParams,
  options: KubeletApiOptions,
): Promise<Answer> {
  const pod = options.getPod(namespace, name);
  if (!pod) return { status: 404, body: `pod ${namespace}/${name} is not on this node` };
  if (!(pod.spec?.containers ?? []).some((c) => c.name === container)) {
    return { status: 404, body: `container "${container}" is not in pod ${namespace}/${name}` };
  }
  const wholeNumber = (parameter: string): number | undefined | Error => {
    const value = search.get(parameter);
    if (value === null) return undefined;
    return /^\d+$/.test(value)
      ? Number(value)
      : new Error(`${parameter} must be a whole number, got "${value}"`);
  };
  const tailLines = wholeNumber("tailLines");
  const sinceSeconds = wholeNumber("sinceSeconds");
  for (const value of [tailLines, sinceSeconds])
    if (value instanceof Error) return { status: 400, body: value.message };
  try {
    const text = await options.provider.containerLogs(namespace, name, {
      container,
      device: search.get("device") ?? undefined,
      tailLines: tailLines as number | undefined,
      sinceSeconds: sinceSeconds as number | undefined,
      timestamps: search.get("timestamps") === "true",
    });
    return { status: 200, body: text };
  } catch (error) {
    if (error instanceof ProviderCallError && error.status === 404)
      return { status: 404, body: error.reason };
    options.logger.warn(
      { pod: `${namespace}/${name}`, container, err: (error as Error).message },
      "container logs failed",
    );
    return {
      status: 502,
      body: `logs of ${namespace}/${name}/${container} are not available: ${(error as Error).message}`,
    };
  }
}

export function startKubeletServer(
  options: KubeletApiOptions & { cert: Buffer; key: Buffer; host: string; port: number },
): Promise<Server> {
  const server = createServer({ cert: options.cert, key: options.key }, (request, response) => {
    handle(request, response, options);
  });
  // exec/attach/portForward arrive as protocol upgrades: refuse them with a plain HTTP answer.
  server.on("upgrade", (request: IncomingMessage, socket: Duplex) => {
    const root = (request.url ?? "").split("/")[1] ?? "";
    const body = unsupportedStreams.some((stream) => stream === root)
      ? notSupportedMessage(root)
      : "upgrade not supported by the IoT Edge virtual kubelet";
    // An upgraded socket leaves the server's bookkeeping: close it ourselves once the answer is out,
    // or a peer that keeps it open would hold server.close() forever.
    socket.end(
      `HTTP/1.1 501 Not Implemented\r\nContent-Type: text/plain\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
      () => socket.destroy(),
    );
  });
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.port, options.host, () => resolve(server));
  });
}

function handle(request: IncomingMessage, response: ServerResponse, options: KubeletApiOptions): void {
  answerKubeletRequest(request.method ?? "GET", request.url ?? "/", options)
    .catch((error: unknown): Answer => ({
      status: 500,
      body: error instanceof Error ? error.message : String(error),
    }))
    .then((answer) => {
      response.writeHead(answer.status, {
        "content-type": answer.contentType ?? "text/plain; charset=utf-8",
      });
      response.end(answer.body);
    })
    .catch(() => response.destroy());
}
