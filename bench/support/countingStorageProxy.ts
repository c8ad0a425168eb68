// A loopback HTTP proxy in front of Azurite that counts the storage requests passing through it, by
// service (blob, queue, table): each is one billable transaction on Azure Storage, the Durable
// backend's real cost. The app is given the proxy's connection string; nothing else changes.
import { createServer, request as httpRequest, type Server } from "node:http";
import type { AddressInfo } from "node:net";

export type StorageService = "blob" | "queue" | "table";
const services: StorageService[] = ["blob", "queue", "table"];

export interface CountingStorageProxy {
  /** The same account as `connectionString`, every endpoint through the proxy. */
  connectionString: string;
  /** Requests forwarded so far, by service. */
  counts(): Record<StorageService, number>;
  /** Requests forwarded so far, by service and container, queue or table ("queue control"). */
  byResource(): Record<string, number>;
  /** Milliseconds from each request to its answer's end, summed by service. */
  latencyMs(): Record<StorageService, number>;
  stop(): Promise<void>;
}

function endpointOf(connectionString: string, service: StorageService): URL {
  const name = `${service[0]!.toUpperCase()}${service.slice(1)}Endpoint=`;
  const part = connectionString.split(";").find((p) => p.startsWith(name));
  if (part === undefined) throw new Error(`the connection string has no ${name}`);
  return new URL(part.slice(name.length));
}

/** "devstoreaccount1/instances/x.json" → "instances"; a table's "Tables('pods')" or "pods(PartitionKey=...)" → "pods". */
function resourceOf(path: string | undefined): string {
  const [, , first = ""] = (path ?? "").split("?")[0]!.split("/");
  return decodeURIComponent(first).replace(/\(.*$/, "") || "(account)";
}

async function forwardingServer(
  target: URL,
  count: (path: string | undefined) => void,
  took: (ms: number) => void,
): Promise<Server> {
  const server = createServer((incoming, outgoing) => {
    count(incoming.url);
    const started = performance.now();
    outgoing.once("finish", () => took(performance.now() - started));
    const upstream = httpRequest(
      {
        host: target.hostname,
        port: target.port,
        method: incoming.method,
        path: incoming.url,
        headers: incoming.headers,
      },
      (answer) => {
        outgoing.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(outgoing);
      },
    );
    upstream.on("error", () => outgoing.destroy());
    incoming.pipe(upstream);
  });
  server.keepAliveTimeout = 60_000;
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return server;
}

export async function startCountingStorageProxy(connectionString: string): Promise<CountingStorageProxy> {
  const counts: Record<StorageService, number> = { blob: 0, queue: 0, table: 0 };
  const resources: Record<string, number> = {};
  const latency: Record<StorageService, number> = { blob: 0, queue: 0, table: 0 };
  let proxied = connectionString;
  const servers: Server[] = [];
  for (const service of services) {
    const target = endpointOf(connectionString, service);
    const server = await forwardingServer(
      target,
      (path) => {
        counts[service]++;
        const key = `${service} ${resourceOf(path)}`;
        resources[key] = (resources[key] ?? 0) + 1;
      },
      (ms) => (latency[service] += ms),
    );
    servers.push(server);
    const through = new URL(target);
    through.port = String((server.address() as AddressInfo).port);
    proxied = proxied.replace(target.href.replace(/\/$/, ""), through.href.replace(/\/$/, ""));
  }
  return {
    connectionString: proxied,
    counts: () => ({ ...counts }),
    byResource: () => ({ ...resources }),
    latencyMs: () => ({ ...latency }),
    async stop() {
      for (const server of servers) {
        server.closeAllConnections();
        await new Promise<void>((resolve) => server.close(() => resolve()));
      }
    },
  };
}
