import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { evaluateTwinCondition, formatTwinCondition, parseTargetCondition } from "../../lib/hub/twinQuery.js";
import { ROLLOUT_BUCKET_TAG, rolloutBucket } from "../../lib/rollout/rolloutBucket.js";
import {
  bucketRange,
  rolloutOperations,
  stageHealthy,
  stageHoldsNoDevice,
  stageMessage,
  stagePercent,
  stagedPriority,
  stagedTargetCondition,
} from "../../lib/rollout/rolloutStage.js";
import { condition, twin } from "../policy/conditionArbitraries.js";

/** The stages a Deployment's controller steps through: the new ReplicaSet grows one replica at a time. */
function stagesOfRollout(desired: number): number[] {
  const percents: number[] = [];
  for (let created = 1; created <= desired; created += 1) {
    const percent = stagePercent({
      newReplicas: created,
      oldReplicas: desired - created,
      desiredReplicas: desired,
    });
    if (percents.at(-1) !== percent) percents.push(percent);
  }
  return percents;
}

describe("stage arithmetic", () => {
  it("reaches ceil(100 × new / desired) buckets while old replicas are left, and all of them after", () => {
    expect(stagePercent({ newReplicas: 1, oldReplicas: 10, desiredReplicas: 10 })).toBe(10);
    expect(stagePercent({ newReplicas: 1, oldReplicas: 3, desiredReplicas: 3 })).toBe(34);
    expect(stagePercent({ newReplicas: 7, oldReplicas: 3, desiredReplicas: 10 })).toBe(70);
    expect(stagePercent({ newReplicas: 1, oldReplicas: 1000, desiredReplicas: 1000 })).toBe(1);
    expect(stagePercent({ newReplicas: 9, oldReplicas: 0, desiredReplicas: 10 })).toBe(100);
    expect(stagePercent({ newReplicas: 10, oldReplicas: 1, desiredReplicas: 10 })).toBe(100);
  });

  it("grows with the new ReplicaSet and stays within 1-100", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 500 }),
        fc.integer({ min: 0, max: 500 }),
        fc.integer({ min: 0, max: 500 }),
        (desired, created, old) => {
          const now = stagePercent({ newReplicas: created, oldReplicas: old, desiredReplicas: desired });
          const next = stagePercent({ newReplicas: created + 1, oldReplicas: old, desiredReplicas: desired });
          expect(now).toBeGreaterThanOrEqual(1);
          expect(now).toBeLessThanOrEqual(100);
          expect(next).toBeGreaterThanOrEqual(now);
        },
      ),
    );
  });

  it("takes a 10-replica Deployment through 9 partial stages of 10 % and the whole scope, for 11 operations", () => {
    const stages = stagesOfRollout(10);
    expect(stages).toEqual([10, 20, 30, 40, 50, 60, 70, 80, 90, 100]);
    const partial = stages.filter((percent) => percent < 100).length;
    // create at 10 %, 8 updates to 90 %, 1 update to the whole scope, the old configuration's delete
    expect(rolloutOperations(partial)).toBe(1 + 8 + 1 + 1);
  });

  it("moves any Deployment of at least five replicas in at least five strictly growing stages ending whole", () => {
    fc.assert(
      fc.property(fc.integer({ min: 5, max: 300 }), (desired) => {
        const stages = stagesOfRollout(desired);
        expect(stages.length).toBeGreaterThanOrEqual(5);
        expect(stages.length).toBeLessThanOrEqual(100);
        expect(stages.at(-1)).toBe(100);
        stages.slice(1).forEach((percent, i) => expect(percent).toBeGreaterThan(stages[i]!));
      }),
    );
  });
});

describe("staged target condition", () => {
  const bucketed = twin.chain((t) =>
    fc.string({ minLength: 1, maxLength: 12 }).map((deviceId) => ({
      ...t,
      deviceId,
      tags: { ...(t.tags as object), [ROLLOUT_BUCKET_TAG]: rolloutBucket(deviceId) },
    })),
  );

  it("selects exactly the scope's devices in the buckets below the stage, and parses as the hub's grammar", () => {
    fc.assert(
      fc.property(
        condition,
        bucketed,
        fc.integer({ min: 1, max: 100 }),
        (scopeCondition, device, percent) => {
          const scope = formatTwinCondition(scopeCondition);
          const staged = parseTargetCondition(stagedTargetCondition(scope, percent));
          const inScope = evaluateTwinCondition(parseTargetCondition(scope), device);
          expect(evaluateTwinCondition(staged, device)).toBe(
            inScope && rolloutBucket(device.deviceId) < percent,
          );
        },
      ),
    );
  });

  it("is the scope itself at 100 %, and leaves a device without a bucket tag out of earlier stages", () => {
    expect(stagedTargetCondition("tags.site = 'north'", 100)).toBe("tags.site = 'north'");
    expect(stagedTargetCondition("tags.site = 'north' OR tags.site = 'south'", 30)).toBe(
      "(tags.site = 'north' OR tags.site = 'south') AND tags.iotEdgeConnectorRolloutBucket < 30",
    );
    const staged = parseTargetCondition(stagedTargetCondition("tags.site = 'north'", 99));
    expect(evaluateTwinCondition(staged, { deviceId: "dev-1", tags: { site: "north" } })).toBe(false);
  });

  it("reaches about N % of 1,000 devices at stage N", () => {
    const devices = Array.from({ length: 1000 }, (_, i) => ({
      deviceId: `dev-${i}`,
      tags: { site: "north", [ROLLOUT_BUCKET_TAG]: rolloutBucket(`dev-${i}`) },
    }));
    for (const percent of [10, 50, 90]) {
      const staged = parseTargetCondition(stagedTargetCondition("tags.site = 'north'", percent));
      const reached = devices.filter((d) => evaluateTwinCondition(staged, d)).length;
      expect(Math.abs(reached - percent * 10)).toBeLessThan(40);
    }
  });

  it("outranks the old configuration", () => {
    expect(stagedPriority(20)).toBe(21);
  });
});

describe("a new replica's share", () => {
  it("says how many of the stage's devices run it and which buckets the stage holds", () => {
    expect(stageMessage(120, 1000, 12)).toBe("running on 120/1,000 devices, buckets 0-11");
    expect(bucketRange(1)).toBe("bucket 0");
    expect(bucketRange(100)).toBe("buckets 0-99");
  });

  it("is Ready only when every connected device of the stage runs it and none fails", () => {
    expect(stageHealthy({ targeted: 100, running: 100, failed: 0, offline: 0 })).toBe(true);
    expect(stageHealthy({ targeted: 100, running: 97, failed: 0, offline: 3 })).toBe(true);
    expect(stageHealthy({ targeted: 100, running: 99, failed: 1, offline: 0 })).toBe(false);
    expect(stageHealthy({ targeted: 100, running: 60, failed: 0, offline: 0 })).toBe(false);
    expect(stageHealthy({ targeted: 0, running: 0, failed: 0, offline: 0 })).toBe(false);
  });

  describe("a stage whose buckets hold no device", () => {
    const scope = "tags.site = 'north'";
    const stage = { percent: 34, targetCondition: stagedTargetCondition(scope, 34) };
    const none = { targeted: 0, running: 0, failed: 0, offline: 0 };

    it("holds no device when a status computed for the stage's own target condition targets none", () => {
      expect(stageHoldsNoDevice(stage, { targetCondition: stage.targetCondition, counts: none })).toBe(true);
    });

    it("is not known empty while the status still belongs to the previous stage's target condition", () => {
      const previous = stagedTargetCondition(scope, 10);
      expect(stageHoldsNoDevice(stage, { targetCondition: previous, counts: none })).toBe(false);
    });

    it("is not known empty without a status, or from a status that does not say its target condition", () => {
      expect(stageHoldsNoDevice(stage, undefined)).toBe(false);
      expect(stageHoldsNoDevice(stage, { counts: none })).toBe(false);
      expect(
        stageHoldsNoDevice({ percent: 34 }, { targetCondition: stage.targetCondition, counts: none }),
      ).toBe(false);
    });

    it("is not empty when the status for its target condition counts a device", () => {
      const counts = { ...none, targeted: 1 };
      expect(stageHoldsNoDevice(stage, { targetCondition: stage.targetCondition, counts })).toBe(false);
    });

    it("never applies to the whole scope, where no device targeted stays a problem", () => {
      expect(
        stageHoldsNoDevice(
          { percent: 100, targetCondition: scope },
          { targetCondition: scope, counts: none },
        ),
      ).toBe(false);
    });
  });
});
