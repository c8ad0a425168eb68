// The adapter's KubeConfig keeps its TLS connections to the apiserver: an HTTPS server on loopback
// with a certificate from the test CA counts the TLS connections the real client opens.
import { copyFile, mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { createServer, type Server } from "node:https";
import { readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { CoreV1Api, KubeConfig } from "@kubernetes/client-node";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { createClusterCertificates, type ClusterCertificates } from "../../dev/cluster/certificates.js";
import { loadKubeConfig } from "../../lib/adapter/startAdapter.js";

let dir: string;
let certs: ClusterCertificates;
let otherCerts: ClusterCertificates;
let server: Server | undefined;
let url: string;
let connections = 0;
/** the client port of each request, in order: which connection it came over */
let requestPorts: number[] = [];

/** the apiserver's answer to a pod read, whatever the pod */
const pod = { apiVersion: "v1", kind: "Pod", metadata: { name: "sensor", namespace: "default" } };

beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), "kube-connections-"));
  certs = await createClusterCertificates(dir, "10.96.0.1");
  await mkdir(path.join(dir, "other"));
  otherCerts = await createClusterCertificates(path.join(dir, "other"), "10.96.0.1");
  const https = createServer(
    { cert: readFileSync(certs.apiserverCertPath), key: readFileSync(certs.apiserverKeyPath) },
    (request, response) => {
      requestPorts.push(request.socket.remotePort ?? 0);
      response.setHeader("content-type", "application/json");
      response.end(JSON.stringify(pod));
    },
  );
  server = https;
  https.on("secureConnection", () => (connections += 1));
  await new Promise<void>((resolve) => https.listen(0, "127.0.0.1", resolve));
  const address = https.address();
  if (address === null || typeof address === "string") throw new Error("no port");
  url = `https://127.0.0.1:${address.port}`;
});

afterAll(async () => {
  server?.closeAllConnections();
  await new Promise((resolve) => (server ? server.close(resolve) : resolve(undefined)));
  await rm(dir, { recursive: true, force: true });
});

beforeEach(() => {
  connections = 0;
  requestPorts = [];
});

/** a kubeconfig file as a kubeadm admin gets, its CA a file (as in-cluster) that can be rotated */
async function kubeconfigFile(caPath: string): Promise<string> {
  const file = path.join(dir, `kubeconfig-${connections}-${Date.now()}.json`);
  const config = {
    apiVersion: "v1",
    kind: "Config",
    clusters: [{ name: "local", cluster: { server: url, "certificate-authority": caPath } }],
    users: [{ name: "adapter", user: { token: "not-a-real-token" } }],
    contexts: [{ name: "local", context: { cluster: "local", user: "adapter" } }],
    "current-context": "local",
  };
  await writeFile(file, JSON.stringify(config));
  return file;
}

const readPods = async (kubeConfig: KubeConfig, count: number) => {
  const core = kubeConfig.makeApiClient(CoreV1Api);
  for (let index = 0; index < count; index++)
    await core.readNamespacedPod({ name: "sensor", namespace: "default" });
};

describe("the adapter's connections to the apiserver", () => {
  it("sends twenty sequential requests over kept-alive TLS connections, not one each", async () => {
    const kubeconfig = await kubeconfigFile(certs.caCertPath);
    await readPods(loadKubeConfig({ kubeconfig }), 20);
    expect(requestPorts).toHaveLength(20);
    // undici may open a second connection while the first one's response is being read
    expect(connections).toBeLessThanOrEqual(2);
  });

  it("opens a new connection with the new CA once the CA file is rotated, and refuses a server the CA does not sign", async () => {
    const caPath = path.join(dir, "rotating-ca.crt");
    await copyFile(certs.caCertPath, caPath);
    const kubeConfig = loadKubeConfig({ kubeconfig: await kubeconfigFile(caPath) });
    await readPods(kubeConfig, 3);
    const before = new Set(requestPorts);
    expect(before.size).toBeLessThanOrEqual(2);
    // a CA that did not sign the server's certificate: the next request must verify against it and fail
    await copyFile(otherCerts.caCertPath, caPath);
    await expect(readPods(kubeConfig, 1)).rejects.toThrow();
    await copyFile(certs.caCertPath, caPath);
    requestPorts = [];
    await readPods(kubeConfig, 3);
    expect(requestPorts).toHaveLength(3);
    for (const port of requestPorts) expect(before.has(port)).toBe(false);
  });
});
