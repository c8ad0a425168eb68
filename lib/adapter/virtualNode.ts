// The virtual node's object and status: what the connector's node looks like to the scheduler and
// to kubectl. Pure functions, so what is written to the apiserver is tested without one.
import type { V1Node, V1NodeCondition, V1NodeStatus } from "@kubernetes/client-node";
import type { NodeConditionsResponse } from "../provider/providerContract.js";
import type { AdapterConfig } from "./config.js";

export const virtualNodeTaint = {
  key: "virtual-kubelet.io/provider",
  value: "azure-iotedge",
  effect: "NoSchedule",
};

type NodeIdentity = Pick<
  AdapterConfig,
  "nodeName" | "hubName" | "nodeAddress" | "kubeletPort" | "kubeletVersion"
>;

export function virtualNode(config: NodeIdentity): V1Node {
  return {
    apiVersion: "v1",
    kind: "Node",
    metadata: {
      name: config.nodeName,
      labels: {
        type: "virtual-kubelet",
        "kubernetes.io/role": "agent",
        "kubernetes.io/os": "linux",
        "kubernetes.io/hostname": config.nodeName,
        "node.kubernetes.io/exclude-from-external-load-balancers": "true",
        "iotedge.connector/hub": config.hubName,
      },
    },
    spec: { taints: [virtualNodeTaint] },
  };
}

export type ProviderConditions =
  { ok: true; response: NodeConditionsResponse } | { ok: false; reason: string };

type Condition = Omit<V1NodeCondition, "lastHeartbeatTime" | "lastTransitionTime">;

/** The adapter's own: it runs and renews the Lease, so the node is Ready (docs/outages.md). */
const ready: Condition = {
  type: "Ready",
  status: "True",
  reason: "KubeletReady",
  message: "the adapter runs and renews the node's lease; the workloads run on the edge devices",
};

/**
 * The node status to write. Ready is always True: the adapter writes it only while it runs, and
 * trouble behind it (the Functions app, the hub, storage) must not make Kubernetes evict pods whose
 * workloads run on undisturbed devices. That trouble shows as conditions of their own:
 * ProviderReachable (the Functions app answers) and the app's (HubReachable, DeploymentCapacity),
 * which turn Unknown while the app does not answer. A condition keeps its lastTransitionTime while
 * its status does not change.
 */
export function virtualNodeStatus(
  config: NodeIdentity & Pick<AdapterConfig, "capacity">,
  provider: ProviderConditions,
  previous: V1NodeCondition[],
  now: Date,
): V1NodeStatus {
  const own = new Set(["Ready", "ProviderReachable"]);
  const fresh: Condition[] = [ready];
  if (provider.ok) {
    fresh.push({
      type: "ProviderReachable",
      status: "True",
      reason: "ProviderAnswers",
      message: "the connector's Functions app answers",
    });
    for (const c of provider.response.conditions)
      if (!own.has(c.type))
        fresh.push({ type: c.type, status: c.status, reason: c.reason, message: c.message });
  } else {
    fresh.push({
      type: "ProviderReachable",
      status: "False",
      reason: "ProviderUnreachable",
      message: `the connector's Functions app did not answer: ${provider.reason}; workloads keep running on the devices, changes wait`,
    });
    for (const c of previous)
      if (!own.has(c.type))
        fresh.push({
          type: c.type,
          status: "Unknown",
          reason: "ProviderUnreachable",
          message: "not known while the connector's Functions app does not answer",
        });
  }
  const conditions = fresh.map((condition) => {
    const before = previous.find((c) => c.type === condition.type);
    const unchanged = before !== undefined && before.status === condition.status;
    return {
      ...condition,
      lastHeartbeatTime: now,
      lastTransitionTime: unchanged && before.lastTransitionTime ? before.lastTransitionTime : now,
    };
  });
  const capacity = { ...config.capacity, ...(provider.ok ? provider.response.capacity : {}) };
  return {
    conditions,
    capacity,
    allocatable: capacity,
    // InternalIP only: the apiserver reaches the kubelet API by the first address type it prefers
    // (Hostname first), and the node name does not resolve to the adapter.
    addresses: [{ type: "InternalIP", address: config.nodeAddress }],
    daemonEndpoints: { kubeletEndpoint: { Port: config.kubeletPort } },
    nodeInfo: {
      architecture: "amd64",
      bootID: "",
      containerRuntimeVersion: "iot-edge://1.5",
      kernelVersion: "",
      kubeProxyVersion: "",
      kubeletVersion: config.kubeletVersion,
      machineID: "",
      operatingSystem: "linux",
      osImage: `Azure IoT Edge via IoT Hub ${config.hubName}`,
      systemUUID: "",
    },
  };
}
