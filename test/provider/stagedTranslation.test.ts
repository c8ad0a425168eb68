// A pod sent with a rollout stage: the same configuration as without one (same id, same content),
// narrowed to the stage's buckets at a priority above the old ReplicaSet's.
import { describe, expect, it } from "vitest";
import { defaultNodePolicy } from "../../lib/policy/fleetPolicy.js";
import { translatePod } from "../../lib/provider/podActivities.js";
import { podFixture } from "./providerFixtures.js";

/** A pod without the rollout annotation: staged, the default. */
const input = {
  hub: "hub-a",
  node: "edge-node",
  pod: podFixture(),
  resolved: { configMaps: {}, secrets: {} },
};

function want(rollout?: { percent: number }) {
  const result = translatePod({ ...input, ...(rollout && { rollout }) }, defaultNodePolicy);
  if (!result.accepted) throw new Error(`refused: ${JSON.stringify(result.problems)}`);
  return result.want.configuration;
}

describe("a pod translated at a rollout stage", () => {
  it("keeps the configuration's id and content, so every stage moves one configuration in place", () => {
    const whole = want();
    for (const percent of [10, 50, 99]) {
      const staged = want({ percent });
      expect(staged.id).toBe(whole.id);
      expect(staged.content).toEqual(whole.content);
    }
  });

  it("targets the stage's buckets within the pod's own target, one priority above it", () => {
    const whole = want();
    const staged = want({ percent: 30 });
    expect(staged.targetCondition).toBe(
      `(${whole.targetCondition}) AND tags.iotEdgeConnectorRolloutBucket < 30`,
    );
    expect(staged.priority).toBe(whole.priority + 1);
  });
});

describe("the rollout annotation", () => {
  const annotated = (value: string) => {
    const pod = podFixture();
    pod.metadata!.annotations = { ...pod.metadata!.annotations, "iotedge.connector/rollout": value };
    return pod;
  };

  it("all-at-once: the stage is ignored and the configuration reaches every device of its target at once", () => {
    const pod = annotated("all-at-once");
    const whole = translatePod({ ...input, pod }, defaultNodePolicy);
    const staged = translatePod({ ...input, pod, rollout: { percent: 10 } }, defaultNodePolicy);
    expect(staged).toEqual(whole);
  });

  it("staged: the configuration targets the stage's buckets", () => {
    const result = translatePod(
      { ...input, pod: annotated("staged"), rollout: { percent: 10 } },
      defaultNodePolicy,
    );
    expect(result.accepted && result.want.configuration.targetCondition).toContain("< 10");
  });

  it("staged: says the stage it translated at, with the staged target condition, for the pod's status", () => {
    const result = translatePod(
      { ...input, pod: annotated("staged"), rollout: { percent: 10 } },
      defaultNodePolicy,
    );
    expect(result.accepted && result.stage).toEqual({
      percent: 10,
      targetCondition: result.accepted && result.want.configuration.targetCondition,
    });
  });

  it("staged is the default: a pod without the annotation translates at its stage", () => {
    const pod = podFixture();
    expect(pod.metadata?.annotations?.["iotedge.connector/rollout"]).toBeUndefined();
    const result = translatePod({ ...input, pod, rollout: { percent: 10 } }, defaultNodePolicy);
    expect(result.accepted && result.want.configuration.targetCondition).toContain(
      "tags.iotEdgeConnectorRolloutBucket < 10",
    );
    expect(result.accepted && result.stage?.percent).toBe(10);
  });

  it("refuses any other value with the field path", () => {
    const result = translatePod({ ...input, pod: annotated("canary") }, defaultNodePolicy);
    expect(result).toMatchObject({
      accepted: false,
      reason: "UnsupportedPod",
      problems: [
        { field: "metadata.annotations[iotedge.connector/rollout]", reason: "must be staged or all-at-once" },
      ],
    });
  });
});
