// The kubelet API the apiserver proxies to (`kubectl logs`, `kubectl exec`, ...), served over TLS.
// Every request is authenticated and authorized first, as a kubelet does it (kubeletAccess.ts):
// 401 without a credential the cluster knows, 403 without the right on this node. Logs come from
// the devices through the provider (containerLogs.ts); interactive streams cannot reach an IoT Edge
// module, so they get a clear 501 that kubectl prints as the reason.
import { createServer, type Server } from "node:https";
import type { IncomingMessage, ServerResponse } from "node:http";
import type { Duplex } from "node:stream";
import type { V1Pod } from "@kubernetes/client-node";
import { redact } from "../hub/redact.js";
import { LogRequestError, serveContainerLogs, type ContainerLogsOptions } from "./containerLogs.js";
import type { KubeletAccessCheck } from "./kubeletAccess.js";

export interface KubeletApiOptions extends ContainerLogsOptions {
  listPods: () => readonly V1Pod[];
  access: KubeletAccessCheck;
}

const unsupportedStreams = ["exec", "attach", "portForward", "run"] as const;

export function notSupportedMessage(operation: string): string {
  return `${operation} is not supported by IoT Edge: the pod runs as modules on edge devices, which accept no interactive streams; use kubectl logs`;
}

function answer(
  response: ServerResponse,
  status: number,
  body: string,
  contentType = "text/plain; charset=utf-8",
) {
  response.writeHead(status, { "content-type": contentType });
  response.end(body);
}

/** Routes one authorized request. */
async function route(request: IncomingMessage, response: ServerResponse, options: KubeletApiOptions) {
  const method = request.method ?? "GET";
  const url = new URL(request.url ?? "/", "https://kubelet");
  const parts = url.pathname.split("/").filter(Boolean).map(decodeURIComponent);
  const [root] = parts;
  if (root === "healthz") return answer(response, 200, "ok");
  if (unsupportedStreams.some((stream) => stream === root))
    return answer(response, 501, notSupportedMessage(root ?? ""));
  if (method !== "GET") return answer(response, 405, `${method} is not allowed on ${url.pathname}`);
  if (root === "pods" && parts.length === 1) {
    const body = JSON.stringify({ apiVersion: "v1", kind: "PodList", items: options.listPods() });
    return answer(response, 200, body, "application/json");
  }
  if (root === "containerLogs" && parts.length === 4) {
    const [, namespace = "", name = "", container = ""] = parts;
    return serveContainerLogs(response, { namespace, name, container, search: url.searchParams }, options);
  }
  if (root === "logs")
    return answer(
      response,
      404,
      "a virtual node keeps no log files of its own; read a pod's logs with kubectl logs",
    );
  return answer(response, 404, `${url.pathname} is not served by the IoT Edge virtual kubelet`);
}

export function startKubeletServer(
  options: KubeletApiOptions & { cert: Buffer; key: Buffer; clientCa: Buffer; host: string; port: number },
): Promise<Server> {
  const server = createServer(
    {
      cert: options.cert,
      key: options.key,
      // client certificates are asked for and checked against the kubelet client CA; a request
      // without one may still present a bearer token, so the handshake does not require one
      ca: options.clientCa,
      requestCert: true,
      rejectUnauthorized: false,
    },
    (request, response) => {
      handle(request, response, options).catch(() => response.destroy());
    },
  );
  // exec/attach/portForward arrive as protocol upgrades: authorize, then refuse with a plain HTTP answer.
  server.on("upgrade", (request: IncomingMessage, socket: Duplex) => {
    void upgradeAnswer(request, options).then(({ status, body }) => {
      // An upgraded socket leaves the server's bookkeeping: close it ourselves once the answer is out,
      // or a peer that keeps it open would hold server.close() forever.
      const reason =
        { 401: "Unauthorized", 403: "Forbidden", 503: "Service Unavailable" }[status] ?? "Not Implemented";
      socket.end(
        `HTTP/1.1 ${status} ${reason}\r\nContent-Type: text/plain\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
        () => socket.destroy(),
      );
    });
  });
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.port, options.host, () => resolve(server));
  });
}

async function upgradeAnswer(request: IncomingMessage, options: KubeletApiOptions) {
  const decision = await options.access.decide(request);
  if (!decision.allowed) return { status: decision.status, body: decision.message };
  const root = (request.url ?? "").split("/")[1] ?? "";
  const body = unsupportedStreams.some((stream) => stream === root)
    ? notSupportedMessage(root)
    : "upgrade not supported by the IoT Edge virtual kubelet";
  return { status: 501, body };
}

async function handle(request: IncomingMessage, response: ServerResponse, options: KubeletApiOptions) {
  const decision = await options.access.decide(request);
  if (!decision.allowed) return answer(response, decision.status, decision.message);
  try {
    await route(request, response, options);
  } catch (error) {
    if (response.headersSent) return void response.end();
    if (error instanceof LogRequestError) return answer(response, error.status, error.message);
    options.logger.warn(
      { url: request.url?.split("?")[0], err: redact(String(error)) },
      "kubelet API request failed",
    );
    answer(response, 500, redact(error instanceof Error ? error.message : String(error)));
  }
}
