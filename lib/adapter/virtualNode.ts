// The virtual node's object and status: what the connector's node looks like to the scheduler and
// to kubectl. Pure functions, so what is written to the apiserver is tested without one.
import type { V1Node, V1NodeCondition, V1NodeStatus } from "@kubernetes/client-node";
import type { NodeConditionsResponse } from "../provider/providerContract.js";
import type { AdapterConfig } from "./config.js";

type NodeIdentity = Pick<
  AdapterConfig,
  "nodeName" | "hubName" | "nodeAddress" | "kubeletPort" | "kubeletVersion" | "taint"
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
    spec: { taints: [{ ...config.taint }] },
  };
}

export type ProviderConditions =
  { ok: true; response: NodeConditionsResponse } | { ok: false; reason: string };

/**
 * The node status to write: the provider's conditions and capacity when it answered, otherwise
 * Ready=Unknown with why (the node stays, its pods keep running on the devices). A condition keeps
 * its lastTransitionTime while its status does not change.
 */
export function virtualNodeStatus(
  config: NodeIdentity & Pick<AdapterConfig, "capacity">,
  provider: ProviderConditions,
  previous: V1NodeCondition[],
  now: Date,
): V1NodeStatus {
  const fresh: Omit<V1NodeCondition, "lastHeartbeatTime" | "lastTransitionTime">[] = provider.ok
    ? provider.response.conditions.map((c) => ({
        type: c.type,
        status: c.status,
        reason: c.reason,
        message: c.message,
      }))
    : [
        {
          type: "Ready",
          status: "Unknown",
          reason: "ProviderUnreachable",
          message: `the connector's Functions app did not answer: ${provider.reason}`,
        },
      ];
  if (!fresh.some((c) => c.type === "Ready")) {
    fresh.push({
      type: "Ready",
      status: "True",
      reason: "ProviderReady",
      message: "the Functions app answers",
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
