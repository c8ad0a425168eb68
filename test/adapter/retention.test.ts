// The retention rule (lib/adapter/retention.ts): which deletions take a workload off the devices, and
// when a hold kept for an owner ends; and when the node was not Ready (lib/adapter/nodeReadiness.ts).
import type { V1Node, V1Pod } from "@kubernetes/client-node";
import { describe, expect, it } from "vitest";
import { NodeReadinessHistory } from "../../lib/adapter/nodeReadiness.js";
import { holdEnds, leftWithoutIntent } from "../../lib/adapter/retention.js";

const at = (text: string) => new Date(`2026-11-25T${text}Z`);

function nodeWithReady(status: string, since: string): V1Node {
  return {
    status: {
      conditions: [{ type: "Ready", status, reason: "NodeStatusUnknown", lastTransitionTime: at(since) }],
    },
  };
}

/** The adapter came back at 12:05 and found the node Unknown since 12:00. */
function outageFrom12To1205(): NodeReadinessHistory {
  const history = new NodeReadinessHistory();
  history.observe(nodeWithReady("Unknown", "12:00:00"), at("12:05:00"));
  history.readyWritten(at("12:05:00"));
  return history;
}

function deletedPod(requested: string, extra: Partial<V1Pod> = {}): V1Pod {
  return {
    metadata: {
      name: "web-1",
      namespace: "default",
      deletionGracePeriodSeconds: 30,
      deletionTimestamp: new Date(at(requested).getTime() + 30_000),
    },
    ...extra,
  };
}

const evicted = (reason: string): Partial<V1Pod> => ({
  status: { conditions: [{ type: "DisruptionTarget", status: "True", reason }] },
});

describe("retention rule", () => {
  const alwaysReady = new NodeReadinessHistory();
  alwaysReady.observe(nodeWithReady("True", "11:00:00"), at("11:00:00"));

  it("a pod the taint manager or the pod garbage collector deleted left without user intent", () => {
    expect(leftWithoutIntent(deletedPod("12:01:00", evicted("DeletionByTaintManager")), alwaysReady)).toBe(
      true,
    );
    expect(leftWithoutIntent(deletedPod("12:01:00", evicted("DeletionByPodGC")), alwaysReady)).toBe(true);
  });

  it("a pod evicted through the Eviction API (kubectl drain) or preempted left by someone's intent", () => {
    expect(leftWithoutIntent(deletedPod("12:01:00", evicted("EvictionByEvictionAPI")), alwaysReady)).toBe(
      false,
    );
    expect(leftWithoutIntent(deletedPod("12:01:00", evicted("PreemptionByScheduler")), alwaysReady)).toBe(
      false,
    );
  });

  it("a pod deleted while the node was not Ready left without user intent; before or after, by intent", () => {
    const history = outageFrom12To1205();
    expect(leftWithoutIntent(deletedPod("12:02:00"), history)).toBe(true);
    expect(leftWithoutIntent(deletedPod("11:59:00"), history)).toBe(false);
    expect(leftWithoutIntent(deletedPod("12:06:00"), history)).toBe(false);
    expect(history.wasNotReadyAtStart).toBe(true);
  });

  it("a pod force-deleted (no deletion timestamp) counts from when it was seen gone", () => {
    const history = outageFrom12To1205();
    const pod: V1Pod = { metadata: { name: "web-1", namespace: "default" } };
    expect(leftWithoutIntent(pod, history, at("12:04:00"))).toBe(true);
    expect(leftWithoutIntent(pod, history, at("12:10:00"))).toBe(false);
  });

  it("an adapter that finds the node Ready at start (a quick restart) saw no outage", () => {
    expect(alwaysReady.wasNotReadyAtStart).toBe(false);
    expect(alwaysReady.wasNotReadyAt(at("11:30:00"))).toBe(false);
  });

  it("a gap seen during the run (the adapter was frozen) is an outage too", () => {
    const history = new NodeReadinessHistory();
    history.observe(nodeWithReady("True", "11:00:00"), at("11:00:00"));
    history.readyWritten(at("11:00:00"));
    history.observe(nodeWithReady("Unknown", "11:20:00"), at("11:22:00"));
    expect(history.wasNotReadyAt(at("11:21:00"))).toBe(true);
    history.readyWritten(at("11:22:00"));
    expect(history.wasNotReadyAt(at("11:23:00"))).toBe(false);
    expect(history.wasNotReadyAtStart).toBe(false);
  });
});

describe("when a hold ends", () => {
  const owner = (extra: object = {}) => ({ metadata: { uid: "rs-1" }, spec: { replicas: 2 }, ...extra });

  it("stays while the owner exists and wants pods", () => {
    expect(holdEnds("ReplicaSet", "rs-1", owner())).toBe(false);
    expect(holdEnds("StatefulSet", "rs-1", owner())).toBe(false);
    expect(holdEnds("DaemonSet", "rs-1", { metadata: { uid: "rs-1" } })).toBe(false);
    expect(holdEnds("Job", "rs-1", { metadata: { uid: "rs-1" }, spec: { parallelism: 1 } })).toBe(false);
  });

  it("ends when the owner is gone, replaced (another uid) or being deleted", () => {
    expect(holdEnds("ReplicaSet", "rs-1", undefined)).toBe(true);
    expect(holdEnds("ReplicaSet", "rs-1", { ...owner(), metadata: { uid: "rs-2" } })).toBe(true);
    expect(
      holdEnds("ReplicaSet", "rs-1", {
        ...owner(),
        metadata: { uid: "rs-1", deletionTimestamp: new Date() },
      }),
    ).toBe(true);
  });

  it("ends when the owner is scaled to zero, or a Job finished or was suspended", () => {
    expect(holdEnds("ReplicaSet", "rs-1", owner({ spec: { replicas: 0 } }))).toBe(true);
    expect(holdEnds("ReplicationController", "rs-1", owner({ spec: { replicas: 0 } }))).toBe(true);
    const done = {
      metadata: { uid: "rs-1" },
      status: { conditions: [{ type: "Complete", status: "True" }] },
    };
    expect(holdEnds("Job", "rs-1", done)).toBe(true);
    expect(holdEnds("Job", "rs-1", { metadata: { uid: "rs-1" }, spec: { suspend: true } })).toBe(true);
  });

  it("ends for an owner kind the adapter does not read (it cannot judge it)", () => {
    expect(holdEnds("Rollout", "rs-1", owner())).toBe(true);
  });
});
