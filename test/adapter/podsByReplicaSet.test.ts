import type { V1Pod } from "@kubernetes/client-node";
import { describe, expect, it } from "vitest";
import { PodsByReplicaSet } from "../../lib/adapter/podsByReplicaSet.js";

function pod(name: string, replicaSet: string | undefined, namespace = "default"): V1Pod {
  return {
    metadata: {
      name,
      namespace,
      uid: `uid-${namespace}-${name}`,
      ...(replicaSet !== undefined && {
        ownerReferences: [
          {
            apiVersion: "apps/v1",
            kind: "ReplicaSet",
            name: replicaSet,
            uid: `rs-${replicaSet}`,
            controller: true,
          },
        ],
      }),
    },
  };
}
const names = (pods: V1Pod[]) => pods.map((each) => each.metadata?.name).sort();

describe("the node's pods by ReplicaSet", () => {
  it("files each pod under its namespace and controlling ReplicaSet, and finds a Deployment's ReplicaSets by prefix", () => {
    const index = new PodsByReplicaSet();
    index.set(pod("web-6d4f-a", "web-6d4f"));
    index.set(pod("web-6d4f-b", "web-6d4f"));
    index.set(pod("web-7c9b-a", "web-7c9b"));
    index.set(pod("webhook-5a1e-a", "webhook-5a1e"));
    index.set(pod("web-6d4f-c", "web-6d4f", "other"));
    index.set(pod("bare", undefined));

    expect(names(index.podsOf("default", "web-6d4f"))).toEqual(["web-6d4f-a", "web-6d4f-b"]);
    expect(index.podsOf("default", "bare")).toEqual([]);
    expect(index.replicaSetsNamed("default", "web-").sort()).toEqual(["web-6d4f", "web-7c9b"]);
    expect(names(index.podsOf("default", "web-7c9b"))).toEqual(["web-7c9b-a"]);
    expect(index.replicaSetsNamed("other", "web-")).toEqual(["web-6d4f"]);
  });

  it("moves a pod whose owner changed, keeps the newest object, and forgets deleted pods and emptied ReplicaSets", () => {
    const index = new PodsByReplicaSet();
    index.set(pod("p", "web-6d4f"));
    const updated = { ...pod("p", "web-6d4f"), status: { phase: "Running" } };
    index.set(updated);
    expect(index.podsOf("default", "web-6d4f")).toEqual([updated]);

    // orphaned and adopted by another ReplicaSet
    index.set(pod("p", "web-7c9b"));
    expect(index.podsOf("default", "web-6d4f")).toEqual([]);
    expect(names(index.podsOf("default", "web-7c9b"))).toEqual(["p"]);
    expect(index.replicaSetsNamed("default", "web-")).toEqual(["web-7c9b"]);

    // released by its owner: no longer anyone's replica
    index.set(pod("p", undefined));
    expect(index.replicaSetsNamed("default", "")).toEqual([]);

    index.set(pod("q", "web-7c9b"));
    index.delete(pod("q", "web-7c9b"));
    index.delete(pod("never-filed", "web-7c9b"));
    expect(index.replicaSetsNamed("default", "")).toEqual([]);
  });
});
