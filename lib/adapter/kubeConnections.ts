// @kubernetes/client-node 2.0.1 builds a new undici Agent for every API request (its
// `createDispatcher` is not cached, unlike `createAgent`), so each request opened its own TLS
// connection: at 200 pods the handshakes were the adapter's largest CPU cost (docs/benchmarks.md).
// This KubeConfig keeps one Agent while the cluster and its TLS material stay the same, so requests
// share kept-alive connections. The CA and client certificate are still read on every request: a
// rotated file (other bytes) gets a new Agent, and the old one closes once its requests are done.
import { createHash } from "node:crypto";
import { KubeConfig, type Cluster } from "@kubernetes/client-node";

interface Dispatcher {
  close(): Promise<void>;
}
type CreateDispatcher = (cluster: Cluster | null, agentOptions: Record<string, unknown>) => unknown;

/** What a connection is made with; hashed, since it holds the client key. */
const connectionFields = ["ca", "cert", "key", "pfx", "passphrase", "rejectUnauthorized", "servername"];

function connectionFingerprint(cluster: Cluster | null, agentOptions: Record<string, unknown>): string {
  const hash = createHash("sha256");
  hash.update(JSON.stringify([cluster?.server, cluster?.proxyUrl, cluster?.skipTLSVerify]));
  for (const field of connectionFields) {
    const value = agentOptions[field];
    hash.update(`\0${field}=`);
    if (Buffer.isBuffer(value) || typeof value === "string") hash.update(value);
    else hash.update(JSON.stringify(value) ?? "undefined");
  }
  return hash.digest("hex");
}

export class ConnectionReusingKubeConfig extends KubeConfig {
  constructor() {
    super();
    // a private method of KubeConfig (2.0.1); test/adapter/kubeConnections.test.ts fails if it moves
    const self = this as unknown as { createDispatcher: CreateDispatcher };
    const create = self.createDispatcher.bind(this);
    let current: { fingerprint: string; dispatcher: unknown } | undefined;
    self.createDispatcher = (cluster, agentOptions) => {
      const fingerprint = connectionFingerprint(cluster, agentOptions);
      if (current?.fingerprint === fingerprint) return current.dispatcher;
      const previous = current?.dispatcher as Dispatcher | undefined;
      current = { fingerprint, dispatcher: create(cluster, agentOptions) };
      void previous?.close().catch(() => undefined);
      return current.dispatcher;
    };
  }
}
