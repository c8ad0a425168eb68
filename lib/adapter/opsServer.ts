// The plain-HTTP operations endpoint: /metrics for Prometheus, /healthz (the process answers) and
// /readyz (the node is registered and the pod cache filled) for the Deployment's probes.
import { createServer, type Server } from "node:http";
import type { Registry } from "prom-client";

export interface OpsServerOptions {
  registry: Registry;
  ready: () => boolean;
  host: string;
  port: number;
}

export function startOpsServer(options: OpsServerOptions): Promise<Server> {
  const server = createServer((request, response) => {
    const path = (request.url ?? "/").split("?")[0];
    if (path === "/metrics") {
      options.registry
        .metrics()
        .then((text) => {
          response.writeHead(200, { "content-type": options.registry.contentType });
          response.end(text);
        })
        .catch(() => {
          response.writeHead(500);
          response.end("metrics unavailable");
        });
      return;
    }
    if (path === "/healthz") return void response.end("ok");
    if (path === "/readyz") {
      const ready = options.ready();
      response.writeHead(ready ? 200 : 503);
      return void response.end(ready ? "ok" : "not ready: node not registered or pod cache not filled");
    }
    response.writeHead(404);
    response.end("not found");
  });
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.port, options.host, () => resolve(server));
  });
}
