// A loopback HTTP proxy in front of Azurite that counts the storage requests passing through it, by
// service (blob, queue, table) and resource: each is one billable transaction on Azure Storage, the
// Durable backend's real cost. The app is given the proxy's connection string; nothing else
// changes. The proxy runs in a worker thread, so the bench's own work (parsing `kubectl get pods`)
// never delays the requests it forwards.
import { createServer, request as httpRequest, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { isMainThread, parentPort, Worker, workerData } from "node:worker_threads";

export type StorageService = "blob" | "queue" | "table";
const services: StorageService[] = ["blob", "queue", "table"];

export interface StorageCounts {
  /** Requests forwarded so far, by service. */
  counts: Record<StorageService, number>;
  /** Requests forwarded so far, by service and container, queue or table ("queue iotedgeconnector-control"). */
  byResource: Record<string, number>;
  /** Milliseconds from each request to its answer's end, summed by service. */
  latencyMs: Record<StorageService, number>;
  /**
   * Body bytes sent and received so far, by resource and, in a blob container, its first folder
   * ("blob iotedgeconnector-state/entities"): what each request carries through the storage.
   */
  bytesByResource: Record<string, number>;
}

export interface CountingStorageProxy {
  /** The same account as the one given, every endpoint through the proxy. */
  connectionString: string;
  counts(): Promise<StorageCounts>;
  stop(): Promise<void>;
}

function endpointOf(connectionString: string, service: StorageService): URL {
  const name = `${service[0]!.toUpperCase()}${service.slice(1)}Endpoint=`;
  const part = connectionString.split(";").find((p) => p.startsWith(name));
  if (part === undefined) throw new Error(`the connection string has no ${name}`);
  return new URL(part.slice(name.length));
}

/** "/devstoreaccount1/instances/x.json" → "instances"; a table's "Tables('pods')" or "pods(PartitionKey=...)" → "pods". */
function resourceOf(path: string | undefined): string {
  const [, , first = ""] = (path ?? "").split("?")[0]!.split("/");
  return decodeURIComponent(first).replace(/\(.*$/, "") || "(account)";
}

/** A table query, told apart from point reads and writes: "pods query", or "pods query $select" (some columns). */
function tableQueryOf(path: string | undefined): string | undefined {
  const query = new URLSearchParams((path ?? "").split("?")[1] ?? "");
  if (!query.has("$filter")) return undefined;
  return `${resourceOf(path)} query${query.has("$select") ? " $select" : ""}`;
}

/** resourceOf, with a blob's first folder: "/devstoreaccount1/state/entities/x.json" → "state/entities"; table queries apart. */
function folderOf(path: string | undefined): string {
  const [, , , folder] = (path ?? "").split("?")[0]!.split("/");
  const resource = tableQueryOf(path) ?? resourceOf(path);
  return folder !== undefined && folder.length > 0 && !folder.includes(".")
    ? `${resource}/${folder}`
    : resource;
}

async function forwardingServer(
  target: URL,
  answered: (path: string | undefined, ms: number, bytes: number) => void,
) {
  const server = createServer((incoming, outgoing) => {
    const started = performance.now();
    let bytes = 0;
    incoming.on("data", (chunk: Buffer) => (bytes += chunk.length));
    outgoing.once("finish", () => answered(incoming.url, performance.now() - started, bytes));
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
        answer.on("data", (chunk: Buffer) => (bytes += chunk.length));
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

/** The worker: starts the servers, answers "counts" with a StorageCounts. */
async function serve(connectionString: string): Promise<void> {
  const totals: StorageCounts = {
    counts: { blob: 0, queue: 0, table: 0 },
    byResource: {},
    latencyMs: { blob: 0, queue: 0, table: 0 },
    bytesByResource: {},
  };
  let proxied = connectionString;
  const servers: Server[] = [];
  for (const service of services) {
    const target = endpointOf(connectionString, service);
    const server = await forwardingServer(target, (path, ms, bytes) => {
      totals.counts[service]++;
      totals.latencyMs[service] += ms;
      const key = `${service} ${tableQueryOf(path) ?? resourceOf(path)}`;
      totals.byResource[key] = (totals.byResource[key] ?? 0) + 1;
      const folder = `${service} ${folderOf(path)}`;
      totals.bytesByResource[folder] = (totals.bytesByResource[folder] ?? 0) + bytes;
    });
    servers.push(server);
    const through = new URL(target);
    through.port = String((server.address() as AddressInfo).port);
    proxied = proxied.replace(target.href.replace(/\/$/, ""), through.href.replace(/\/$/, ""));
  }
  parentPort!.on("message", (message: string) => {
    if (message === "counts") parentPort!.postMessage({ counts: structuredClone(totals) });
  });
  parentPort!.postMessage({ connectionString: proxied });
}

if (!isMainThread && (workerData as { countingStorageProxy?: string } | null)?.countingStorageProxy)
  await serve((workerData as { countingStorageProxy: string }).countingStorageProxy);

export async function startCountingStorageProxy(connectionString: string): Promise<CountingStorageProxy> {
  const worker = new Worker(new URL(import.meta.url), {
    workerData: { countingStorageProxy: connectionString },
  });
  const next = () =>
    new Promise<{ connectionString?: string; counts?: StorageCounts }>((resolve, reject) => {
      worker.once("message", resolve);
      worker.once("error", reject);
    });
  const { connectionString: proxied } = await next();
  return {
    connectionString: proxied!,
    async counts() {
      const answer = next();
      worker.postMessage("counts");
      return (await answer).counts!;
    },
    async stop() {
      await worker.terminate();
    },
  };
}
