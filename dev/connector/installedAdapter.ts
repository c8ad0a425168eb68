// Installs the chart into a test control plane for one or more virtual nodes and prepares what the adapter
// needs to run with the chart's ServiceAccount (so the chart's RBAC is what is tested): a token
// minted with the TokenRequest API, a kubeconfig, a kubelet serving certificate, free ports, and
// the adapter's command-line flags.
import { writeFile } from "node:fs/promises";
import path from "node:path";
import { KubeConfig } from "@kubernetes/client-node";
import type { ControlPlane } from "../cluster/controlPlane.js";
import { freePort } from "../cluster/network.js";
import { selfSignedCertificate } from "./servingCertificate.js";

const RELEASE_NAMESPACE = "iot-edge";

export async function installChartForAdapter(options: {
  cluster: ControlPlane;
  dir: string;
  node: string;
  hub: string;
  providerUrl: string;
  functionKey: string;
}): Promise<{ adapterArgs: string[]; kubeletPort: number }> {
  const { node, hub, ...rest } = options;
  const [installed] = await installChartForAdapters({ ...rest, nodes: [{ node, hub }] });
  if (!installed) throw new Error("the chart was installed for no node");
  return installed;
}

/** The chart with several virtual nodes (one per hub, one release), and each adapter's flags. */
export async function installChartForAdapters(options: {
  cluster: ControlPlane;
  dir: string;
  nodes: { node: string; hub: string }[];
  providerUrl: string;
  functionKey: string;
}): Promise<{ node: string; adapterArgs: string[]; kubeletPort: number }[]> {
  const { cluster, dir, nodes, providerUrl, functionKey } = options;
  await cluster.kubectl(["create", "namespace", RELEASE_NAMESPACE]);
  const keyPath = path.join(dir, "function-key");
  await writeFile(keyPath, `${functionKey}\n`, { mode: 0o600 });
  const inNamespace = `--namespace=${RELEASE_NAMESPACE}`;
  await cluster.kubectl([
    inNamespace,
    "create",
    "secret",
    "generic",
    "connector-key",
    `--from-file=functionKey=${keyPath}`,
  ]);
  await cluster.helm([
    "install",
    "connector",
    "charts/iot-edge-connector",
    inNamespace,
    ...nodes.flatMap(({ node, hub }, index) => [
      `--set=nodes[${index}].name=${node}`,
      `--set=nodes[${index}].hubName=${hub}`,
      `--set=nodes[${index}].functionsUrl=${providerUrl}`,
      `--set=nodes[${index}].functionKeySecret.name=connector-key`,
    ]),
  ]);
  const token = (
    await cluster.kubectl([inNamespace, "create", "token", "connector-iot-edge-connector", "--duration=1h"])
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
      `--function-key-file=${keyPath}`,
      `--kubeconfig=${kubeconfigPath}`,
      "--node-address=127.0.0.1",
      `--kubelet-port=${kubeletPort}`,
      "--kubelet-listen-host=127.0.0.1",
      `--tls-cert-file=${tls.certPath}`,
      `--tls-key-file=${tls.keyPath}`,
      `--metrics-port=${metricsPort}`,
      "--metrics-listen-host=127.0.0.1",
      "--status-interval-ms=250",
      "--node-status-interval-ms=1000",
      "--lease-interval-ms=500",
    ];
  }
}
