import type { V1Pod } from "@kubernetes/client-node";
import { describe, expect, it } from "vitest";
import { fleetTransitionEvents } from "../../lib/adapter/podEvents.js";
import { podStatusToWrite } from "../../lib/adapter/podStatusWriter.js";
import { virtualNode, virtualNodeStatus } from "../../lib/adapter/virtualNode.js";
import type { NodeConditionsResponse, ProviderPodStatus } from "../../lib/provider/providerContract.js";

const pod: V1Pod = {
  metadata: {
    namespace: "default",
    name: "sensor-1",
    uid: "u1",
    creationTimestamp: new Date("2026-11-25T10:00:00Z"),
  },
  spec: { containers: [{ name: "sensor" }] },
  status: { phase: "Pending", qosClass: "BestEffort" },
};

function provided(
  fleet: Partial<ProviderPodStatus["fleet"]>,
  version = 1,
  message?: string,
): ProviderPodStatus {
  return {
    namespace: "default",
    name: "sensor-1",
    uid: "u1",
    configurationId: "k8s-abc",
    version,
    fleet: { targeted: 3, applied: 0, running: 0, failed: 0, offline: 0, ...fleet },
    status: { phase: "Running", message, qosClass: "Guaranteed" },
  };
}

describe("pod status written to the status subresource", () => {
  it("is the provider's status with the node's address and the pod's start time; qosClass stays the apiserver's", () => {
    const status = podStatusToWrite(pod, provided({ applied: 3 }), "10.1.2.3");
    expect(status).toEqual({
      phase: "Running",
      hostIP: "10.1.2.3",
      hostIPs: [{ ip: "10.1.2.3" }],
      startTime: new Date("2026-11-25T10:00:00Z"),
    });
  });

  it("clears with null what the provider no longer says, such as a waiting reason, but never qosClass", () => {
    const waiting = {
      ...pod,
      status: { ...pod.status, reason: "WaitingForHubBudget", message: "3rd in line" },
    };
    const status = podStatusToWrite(waiting, provided({ applied: 3 }), "10.1.2.3");
    expect(status).toMatchObject({ phase: "Running", reason: null, message: null });
    expect(status).not.toHaveProperty("qosClass");
  });

  it("keeps a start time already written", () => {
    const started = { ...pod, status: { startTime: new Date("2026-11-25T11:00:00Z") } };
    expect(podStatusToWrite(started, provided({}), "10.1.2.3").startTime).toEqual(
      new Date("2026-11-25T11:00:00Z"),
    );
  });
});

describe("Events on fleet transitions", () => {
  it("says on how many devices the deployment applied, when that number changes", () => {
    expect(fleetTransitionEvents(undefined, provided({ applied: 2 }))).toEqual([
      { type: "Normal", reason: "Applied", message: "deployment k8s-abc applied on 2 of 3 targeted devices" },
    ]);
    expect(fleetTransitionEvents(provided({ applied: 2 }), provided({ applied: 2 }, 2))).toEqual([]);
  });

  it("warns when more devices fail or go offline, with the provider's message", () => {
    const events = fleetTransitionEvents(
      provided({ applied: 3, failed: 0 }),
      provided({ applied: 3, failed: 1, offline: 1 }, 2, "sensor backoff on dev-2"),
    );
    expect(events).toEqual([
      {
        type: "Warning",
        reason: "DeviceFailed",
        message: "failed on 1 of 3 targeted devices: sensor backoff on dev-2",
      },
      { type: "Warning", reason: "DeviceOffline", message: "1 targeted devices are disconnected" },
    ]);
  });

  it("stays quiet when failures recover", () => {
    expect(
      fleetTransitionEvents(provided({ applied: 3, failed: 2 }), provided({ applied: 3, failed: 0 }, 2)),
    ).toEqual([]);
  });
});

describe("virtual node", () => {
  const identity = {
    nodeName: "iot-edge-hub1",
    hubName: "hub1",
    nodeAddress: "10.0.0.7",
    kubeletPort: 10250,
    kubeletVersion: "v1.36.3-iot-edge-connector",
    capacity: { pods: "110", cpu: "20", memory: "100Gi" },
  };
  const answer: NodeConditionsResponse = {
    hub: "hub1",
    hubReachable: true,
    devicesTotal: 4,
    devicesConnected: 3,
    deployments: { used: 5, limit: 100 },
    conditions: [
      { type: "HubReachable", status: "True", reason: "HubAnswers", message: "3 of 4 devices connected" },
    ],
    capacity: { pods: "95" },
  };

  it("is labelled and tainted so only pods meant for IoT Edge land on it", () => {
    const node = virtualNode(identity);
    expect(node.metadata?.labels).toMatchObject({
      type: "virtual-kubelet",
      "kubernetes.io/role": "agent",
      "kubernetes.io/os": "linux",
    });
    expect(node.spec?.taints).toEqual([
      { key: "virtual-kubelet.io/provider", value: "azure-iotedge", effect: "NoSchedule" },
    ]);
  });

  it("is Ready while the adapter runs, with the provider's conditions and capacity beside its own", () => {
    const now = new Date("2026-11-25T12:00:00Z");
    const status = virtualNodeStatus(identity, { ok: true, response: answer }, [], now);
    expect(status.conditions?.map(({ type, status, reason }) => ({ type, status, reason }))).toEqual([
      { type: "Ready", status: "True", reason: "KubeletReady" },
      { type: "ProviderReachable", status: "True", reason: "ProviderAnswers" },
      { type: "HubReachable", status: "True", reason: "HubAnswers" },
    ]);
    expect(status.conditions?.[2]).toMatchObject({
      message: "3 of 4 devices connected",
      lastHeartbeatTime: now,
      lastTransitionTime: now,
    });
    expect(status.capacity).toEqual({ pods: "95", cpu: "20", memory: "100Gi" });
    expect(status.daemonEndpoints?.kubeletEndpoint?.Port).toBe(10250);
    expect(status.addresses).toEqual([{ type: "InternalIP", address: "10.0.0.7" }]);
  });

  it("never lets the provider decide Ready: a Ready it sends is left out", () => {
    const old: NodeConditionsResponse = {
      ...answer,
      conditions: [{ type: "Ready", status: "False", reason: "HubUnreachable", message: "503" }],
    };
    const status = virtualNodeStatus(identity, { ok: true, response: old }, [], new Date());
    expect(status.conditions?.filter((c) => c.type === "Ready")).toMatchObject([{ status: "True" }]);
  });

  it("stays Ready when the provider does not answer: ProviderReachable turns False and the provider's conditions Unknown", () => {
    const earlier = new Date("2026-11-25T11:00:00Z");
    const now = new Date("2026-11-25T12:00:00Z");
    const ready = virtualNodeStatus(identity, { ok: true, response: answer }, [], earlier).conditions ?? [];
    const later = virtualNodeStatus(identity, { ok: true, response: answer }, ready, now).conditions ?? [];
    expect(later[0]).toMatchObject({ lastTransitionTime: earlier, lastHeartbeatTime: now });
    const down = virtualNodeStatus(
      identity,
      { ok: false, reason: "provider nodeConditions: unreachable: ECONNREFUSED" },
      later,
      now,
    );
    const byType = Object.fromEntries((down.conditions ?? []).map((c) => [c.type, c]));
    expect(byType.Ready).toMatchObject({ status: "True", lastTransitionTime: earlier });
    expect(byType.ProviderReachable).toMatchObject({
      status: "False",
      reason: "ProviderUnreachable",
      message:
        "the connector's Functions app did not answer: provider nodeConditions: unreachable: ECONNREFUSED; workloads keep running on the devices, changes wait",
      lastTransitionTime: now,
    });
    expect(byType.HubReachable).toMatchObject({ status: "Unknown", reason: "ProviderUnreachable" });
  });
});
