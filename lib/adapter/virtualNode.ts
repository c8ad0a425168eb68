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

type Condition = Omit<V1NodeCondition, "lastHeartbeatTime" | "lastTransitionTime">;

/** Conditions the adapter decides: whatever the provider says of them is not taken. */
const ADAPTER_CONDITIONS = new Set(["Ready", "ProviderReachable"]);

/** The adapter writes status only while it runs and its Lease is renewed beside it: the node is Ready. */
const READY: Condition = {
  type: "Ready",
  status: "True",
  reason: "KubeletReady",
  message: "the adapter runs and renews the node's Lease; the workloads run on the edge devices",
};

/**
 * The node status to write. Ready is always True: a NotReady node is tainted NoExecute and its pods
 * evicted, while trouble behind the adapter (the Functions app, the hub) leaves the workloads running
 * on the devices (docs/adapter.md, "Node conditions"). Such trouble shows as conditions of its own:
 * ProviderReachable (does the Functions app answer; since when not) and the app's (HubReachable,
 * DeploymentCapacity), which turn Unknown while it does not answer. Capacity stays the last the app
 * gave. A condition keeps its lastTransitionTime while its status does not change.
 */
export function virtualNodeStatus(
  config: NodeIdentity & Pick<AdapterConfig, "capacity">,
  provider: ProviderConditions,
  previous: Pick<V1NodeStatus, "conditions" | "capacity">,
  now: Date,
): V1NodeStatus {
  const before = (type: string) => previous.conditions?.find((c) => c.type === type);
  const fresh: Condition[] = [READY];
  if (provider.ok) {
    fresh.push({
      type: "ProviderReachable",
      status: "True",
      reason: "ProviderAnswers",
      message: "the connector's Functions app answers",
    });
    for (const c of provider.response.conditions)
      if (!ADAPTER_CONDITIONS.has(c.type))
        fresh.push({ type: c.type, status: c.status, reason: c.reason, message: c.message });
  } else {
    const down = before("ProviderReachable");
    const since = down?.status === "False" && down.lastTransitionTime ? down.lastTransitionTime : now;
    fresh.push({
      type: "ProviderReachable",
      status: "False",
      reason: "ProviderUnreachable",
      message:
        `the connector's Functions app does not answer since ${new Date(since).toISOString()} ` +
        `(${provider.reason}); the workloads keep running on the devices, changes wait`,
    });
    for (const c of previous.conditions ?? [])
      if (!ADAPTER_CONDITIONS.has(c.type))
        fresh.push({
          type: c.type,
          status: "Unknown",
          reason: "ProviderUnreachable",
          message: "not known while the connector's Functions app does not answer",
        });
  }
  const conditions = fresh.map((condition) => {
    const last = before(condition.type);
    const unchanged = last !== undefined && last.status === condition.status;
    return {
      ...condition,
      lastHeartbeatTime: now,
      lastTransitionTime: unchanged && last.lastTransitionTime ? last.lastTransitionTime : now,
    };
  });
  const capacity = {
    ...config.capacity,
    ...(provider.ok ? provider.response.capacity : previous.capacity),
  };
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
