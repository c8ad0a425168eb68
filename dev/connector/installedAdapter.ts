// Installs the chart into a test control plane for one or more virtual nodes and prepares what the adapter
// needs to run with the chart's ServiceAccount (so the chart's RBAC and admission policy are what is
// tested): each node's key Secret, a token minted with the TokenRequest API, a kubeconfig, a kubelet
// serving certificate, the cluster's CA as the kubelet client CA, free ports, and the adapter's flags.
import { writeFile } from "node:fs/promises";
import path from "node:path";
import { KubeConfig } from "@kubernetes/client-node";
import type { ControlPlane } from "../cluster/controlPlane.js";
import { freePort } from "../cluster/network.js";
import { selfSignedCertificate } from "./servingCertificate.js";

export const RELEASE_NAMESPACE = "iot-edge";
/** The ServiceAccount the chart makes for release `connector`. */
export const ADAPTER_SERVICE_ACCOUNT = "connector-iot-edge-connector";

export interface NodeToInstall {
  node: string;
  hub: string;
  /** this node's own provider API key */
  key: string;
  /** namespaces whose pods it serves (default: default) */
  namespaces?: string[];
}

export async function installChartForAdapter(
  options: { cluster: ControlPlane; dir: string; providerUrl: string } & NodeToInstall,
): Promise<{ adapterArgs: string[]; kubeletPort: number }> {
  const { node, hub, key, namespaces, ...rest } = options;
  const [installed] = await installChartForAdapters({
    ...rest,
    nodes: [{ node, hub, key, ...(namespaces ? { namespaces } : {}) }],
  });
  if (!installed) throw new Error("the chart was installed for no node");
  return installed;
}

/** The chart with several virtual nodes (one per hub, one release), and each adapter's flags. */
export async function installChartForAdapters(options: {
  cluster: ControlPlane;
  dir: string;
  nodes: NodeToInstall[];
  providerUrl: string;
}): Promise<{ node: string; adapterArgs: string[]; kubeletPort: number }[]> {
  const { cluster, dir, nodes, providerUrl } = options;
  await cluster.kubectl(["create", "namespace", RELEASE_NAMESPACE]);
  const inNamespace = `--namespace=${RELEASE_NAMESPACE}`;
  const keyPaths: Record<string, string> = {};
  for (const { node, key } of nodes) {
    const keyPath = path.join(dir, `${node}.key`);
    await writeFile(keyPath, `${key}\n`, { mode: 0o600 });
    keyPaths[node] = keyPath;
    await cluster.kubectl([
      inNamespace,
      "create",
      "secret",
      "generic",
      `${node}-key`,
      `--from-file=functionKey=${keyPath}`,
    ]);
  }
  await cluster.helm([
    "install",
    "connector",
    "charts/iot-edge-connector",
    inNamespace,
    // the Functions host of these tests is plain http on loopback
    "--set=localDevelopment.allowHttpProvider=true",
    ...nodes.flatMap(({ node, hub, namespaces = ["default"] }, index) => [
      `--set=nodes[${index}].name=${node}`,
      `--set=nodes[${index}].hubName=${hub}`,
      `--set=nodes[${index}].functionsUrl=${providerUrl}`,
      `--set=nodes[${index}].functionKeySecret.name=${node}-key`,
      `--set=nodes[${index}].namespaces={${namespaces.join(",")}}`,
    ]),
  ]);
  const token = (
    await cluster.kubectl([inNamespace, "create", "token", ADAPTER_SERVICE_ACCOUNT, "--duration=1h"])
  ).stdout.trim();
  const kubeConfig = new KubeConfig();
  kubeConfig.loadFromOptions({
    clusters: [{ name: "test", server: cluster.server, caFile: cluster.caCertPath }],
    users: [{ name: "adapter", token }],
    contexts: [{ name: "test", cluster: "test", user: "adapter" }],
    currentContext: "test",
  });
  const kubeconfigPath = path.join(dir, "adapter.kubeconfig");
  await writeFile(kubeconfigPath, kubeConfig.exportConfig(), { mode: 0o600 });
  const tls = await selfSignedCertificate(dir);
  const installed = [];
  for (const { node, hub } of nodes) {
    const [kubeletPort, metricsPort] = await Promise.all([freePort(), freePort()]);
    installed.push({ node, kubeletPort, adapterArgs: adapterFlags({ node, hub, kubeletPort, metricsPort }) });
  }
  return installed;

  function adapterFlags(ports: { node: string; hub: string; kubeletPort: number; metricsPort: number }) {
    const { node, hub, kubeletPort, metricsPort } = ports;
    return [
      `--node-name=${node}`,
      `--hub-name=${hub}`,
      `--provider-url=${providerUrl}`,
      "--allow-http-provider-for-local-development",
      `--function-key-file=${keyPaths[node]}`,
      `--kubeconfig=${kubeconfigPath}`,
      "--node-address=127.0.0.1",
      `--kubelet-port=${kubeletPort}`,
      "--kubelet-listen-host=127.0.0.1",
      `--tls-cert-file=${tls.certPath}`,
      `--tls-key-file=${tls.keyPath}`,
      // the apiserver's kubelet client certificate is signed by the cluster's CA
      `--client-ca-file=${cluster.caCertPath}`,
      `--metrics-port=${metricsPort}`,
      "--metrics-listen-host=127.0.0.1",
      "--status-interval-ms=250",
      "--node-status-interval-ms=1000",
      "--lease-interval-ms=500",
    ];
  }
}
