import type { V1Pod } from "@kubernetes/client-node";
import { describe, expect, it } from "vitest";
import { fleetTransitionEvents, writtenStatus, type WrittenStatus } from "../../lib/adapter/podEvents.js";
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

  it("keeps the taint manager's DisruptionTarget condition beside the provider's conditions", () => {
    const disruption = { type: "DisruptionTarget", status: "True", reason: "DeletionByTaintManager" };
    const evicted = { ...pod, status: { ...pod.status, conditions: [disruption] } };
    const ready = { type: "Ready", status: "True" };
    const withConditions = { ...provided({}), status: { phase: "Running", conditions: [ready] } };
    const now = new Date("2026-11-25T10:09:00Z");
    expect(podStatusToWrite(evicted, withConditions, "10.1.2.3", now).conditions).toEqual([
      { ...ready, lastTransitionTime: now },
      disruption,
    ]);
    expect(podStatusToWrite(evicted, provided({}), "10.1.2.3").conditions).toEqual([disruption]);
  });

  it("stamps each condition with when its status last changed, which minReadySeconds counts from", () => {
    const earlier = new Date("2026-11-25T10:05:00Z");
    const now = new Date("2026-11-25T10:09:00Z");
    const written = {
      ...pod,
      status: {
        conditions: [
          { type: "Ready", status: "True", lastTransitionTime: earlier },
          { type: "ContainersReady", status: "False", lastTransitionTime: earlier },
        ],
      },
    };
    const conditions = [
      { type: "Ready", status: "True" },
      { type: "ContainersReady", status: "True" },
      { type: "PodScheduled", status: "True" },
    ];
    const next = { ...provided({}), status: { phase: "Running", conditions } };
    expect(podStatusToWrite(written, next, "10.1.2.3", now).conditions).toEqual([
      { type: "Ready", status: "True", lastTransitionTime: earlier },
      { type: "ContainersReady", status: "True", lastTransitionTime: now },
      { type: "PodScheduled", status: "True", lastTransitionTime: now },
    ]);
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
    expect(
      fleetTransitionEvents(writtenStatus(provided({ applied: 2 })), provided({ applied: 2 }, 2)),
    ).toEqual([]);
  });

  it("on a large fleet reporting device by device, writes one when a count reaches 1, 10, 100, … or all targeted, not at every device", () => {
    const at = (fleet: Partial<ProviderPodStatus["fleet"]>) => ({ targeted: 120, ...fleet });
    const reasons = (steps: Partial<ProviderPodStatus["fleet"]>[]) => {
      const seen: string[] = [];
      let written: WrittenStatus | undefined;
      steps.forEach((fleet, index) => {
        const next = provided(at(fleet), index + 1);
        for (const event of fleetTransitionEvents(written, next))
          seen.push(`${event.reason} ${/(\d+) (?:of|targeted)/.exec(event.message)?.[1] ?? ""}`);
        written = writtenStatus(next);
      });
      return seen;
    };
    const applied = [1, 5, 9, 10, 57, 99, 100, 119, 120].map((n) => ({ applied: n }));
    expect(reasons(applied)).toEqual(["Applied 1", "Applied 10", "Applied 100", "Applied 120"]);
    const failing = [1, 2, 9, 10, 11].map((n) => ({ applied: 120, failed: n }));
    expect(reasons(failing)).toEqual(["Applied 120", "DeviceFailed 1", "DeviceFailed 10"]);
    const offline = [0, 3, 12].map((n) => ({ applied: 120, offline: n }));
    expect(reasons(offline)).toEqual(["Applied 120", "DeviceOffline 3", "DeviceOffline 12"]);
  });

  it("warns when more devices fail or go offline, with the provider's message", () => {
    const events = fleetTransitionEvents(
      writtenStatus(provided({ applied: 3, failed: 0 })),
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

  it("warns once, with the app's reason and message, when the app refuses the pod", () => {
    const refused: ProviderPodStatus = {
      ...provided({ targeted: 0 }, 2),
      status: {
        phase: "Failed",
        reason: "PolicyViolation",
        message: "refused by the fleet policy of node n: ...",
      },
    };
    expect(fleetTransitionEvents(writtenStatus(provided({ targeted: 0 })), refused)).toEqual([
      { type: "Warning", reason: "PolicyViolation", message: "refused by the fleet policy of node n: ..." },
    ]);
    expect(fleetTransitionEvents(writtenStatus(refused), { ...refused, version: 3 })).toEqual([]);
  });

  it("keeps of a written status only its version, its reason and message, and what the transitions compare", () => {
    expect(writtenStatus(provided({ applied: 3, failed: 1, offline: 2 }, 7, "sensor backoff"))).toStrictEqual(
      {
        version: 7,
        refused: false,
        applied: 3,
        failed: 1,
        offline: 2,
        reason: undefined,
        message: "sensor backoff",
      },
    );
  });

  it("stays quiet when failures recover", () => {
    expect(
      fleetTransitionEvents(
        writtenStatus(provided({ applied: 3, failed: 2 })),
        provided({ applied: 3, failed: 0 }, 2),
      ),
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
    taint: { key: "virtual-kubelet.io/provider", value: "iotedge", effect: "NoSchedule" as const },
  };
  const answer: NodeConditionsResponse = {
    hub: "hub1",
    hubReachable: true,
    devicesTotal: 4,
    devicesConnected: 3,
    deployments: { used: 5, limit: 100 },
    conditions: [
      { type: "HubReachable", status: "True", reason: "HubReachable", message: "3 of 4 devices connected" },
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
      { key: "virtual-kubelet.io/provider", value: "iotedge", effect: "NoSchedule" },
    ]);
  });

  it("is Ready while the adapter writes its status, with the provider's conditions beside it and its capacity", () => {
    const now = new Date("2026-11-25T12:00:00Z");
    const status = virtualNodeStatus(identity, { ok: true, response: answer }, {}, now);
    expect(status.conditions).toEqual([
      {
        type: "Ready",
        status: "True",
        reason: "KubeletReady",
        message: "the adapter runs and renews the node's Lease; the workloads run on the edge devices",
        lastHeartbeatTime: now,
        lastTransitionTime: now,
      },
      {
        type: "ProviderReachable",
        status: "True",
        reason: "ProviderAnswers",
        message: "the connector's Functions app answers",
        lastHeartbeatTime: now,
        lastTransitionTime: now,
      },
      {
        type: "HubReachable",
        status: "True",
        reason: "HubReachable",
        message: "3 of 4 devices connected",
        lastHeartbeatTime: now,
        lastTransitionTime: now,
      },
    ]);
    expect(status.capacity).toEqual({ pods: "95", cpu: "20", memory: "100Gi" });
    expect(status.daemonEndpoints?.kubeletEndpoint?.Port).toBe(10250);
    expect(status.addresses).toEqual([{ type: "InternalIP", address: "10.0.0.7" }]);
  });

  it("stays Ready when the provider does not answer: ProviderReachable=False says why and since when, the app's conditions turn Unknown, capacity stays", () => {
    const earlier = new Date("2026-11-25T11:00:00Z");
    const down = new Date("2026-11-25T12:00:00Z");
    const later = new Date("2026-11-25T12:05:00Z");
    const up = virtualNodeStatus(identity, { ok: true, response: answer }, {}, earlier);
    const unreachable = { ok: false as const, reason: "provider nodeConditions: unreachable: ECONNREFUSED" };
    const first = virtualNodeStatus(identity, unreachable, up, down);
    const still = virtualNodeStatus(identity, unreachable, first, later);
    const byType = (type: string) => still.conditions?.find((c) => c.type === type);
    expect(byType("Ready")).toMatchObject({
      status: "True",
      lastTransitionTime: earlier,
      lastHeartbeatTime: later,
    });
    expect(byType("ProviderReachable")).toEqual({
      type: "ProviderReachable",
      status: "False",
      reason: "ProviderUnreachable",
      message:
        "the connector's Functions app does not answer since 2026-11-25T12:00:00.000Z " +
        "(provider nodeConditions: unreachable: ECONNREFUSED); the workloads keep running on the devices, changes wait",
      lastHeartbeatTime: later,
      lastTransitionTime: down,
    });
    expect(byType("HubReachable")).toMatchObject({
      status: "Unknown",
      reason: "ProviderUnreachable",
      lastTransitionTime: down,
    });
    expect(still.capacity).toEqual({ pods: "95", cpu: "20", memory: "100Gi" });

    const back = virtualNodeStatus(identity, { ok: true, response: answer }, still, later);
    expect(back.conditions?.find((c) => c.type === "ProviderReachable")).toMatchObject({
      status: "True",
      lastTransitionTime: later,
    });
  });

  it("never lets the provider's conditions make the node not Ready (a hub 429 or outage is HubReachable's)", () => {
    const now = new Date("2026-11-25T12:00:00Z");
    const claims: NodeConditionsResponse = {
      ...answer,
      conditions: [
        { type: "Ready", status: "False", reason: "HubUnreachable", message: "429" },
        { type: "ProviderReachable", status: "False", reason: "X", message: "x" },
        { type: "HubReachable", status: "False", reason: "HubUnreachable", message: "throttled" },
      ],
    };
    const status = virtualNodeStatus(identity, { ok: true, response: claims }, {}, now);
    expect(status.conditions?.map((c) => [c.type, c.status])).toEqual([
      ["Ready", "True"],
      ["ProviderReachable", "True"],
      ["HubReachable", "False"],
    ]);
  });
});
