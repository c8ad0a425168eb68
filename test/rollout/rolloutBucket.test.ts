import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  hasRolloutBucket,
  ROLLOUT_BUCKET_TAG,
  ROLLOUT_BUCKETS,
  rolloutBucket,
} from "../../lib/rollout/rolloutBucket.js";

describe("rollout bucket", () => {
  it("puts every device id in one bucket 0-99, the same on every call", () => {
    fc.assert(
      fc.property(fc.string({ minLength: 1, maxLength: 128 }), (deviceId) => {
        const bucket = rolloutBucket(deviceId);
        expect(Number.isInteger(bucket)).toBe(true);
        expect(bucket).toBeGreaterThanOrEqual(0);
        expect(bucket).toBeLessThan(ROLLOUT_BUCKETS);
        expect(rolloutBucket(deviceId)).toBe(bucket);
      }),
    );
  });

  it("is the SHA-256 of the id: pinned, since a changed rule would move deployed fleets between stages", () => {
    expect(rolloutBucket("dev-1")).toBe(98);
  });

  it("spreads a fleet of sequential ids evenly: the first N buckets hold about N % of 10,000 devices", () => {
    const ids = Array.from({ length: 10_000 }, (_, i) => `device-${String(i).padStart(5, "0")}`);
    const buckets = ids.map(rolloutBucket);
    for (const share of [1, 10, 25, 50, 90]) {
      const inStage = buckets.filter((b) => b < share).length;
      expect(Math.abs(inStage - share * 100)).toBeLessThan(Math.max(40, share * 100 * 0.15));
    }
  });

  it("says a device is bucketed only when its tag holds its own bucket", () => {
    const bucket = rolloutBucket("dev-9");
    expect(hasRolloutBucket("dev-9", { [ROLLOUT_BUCKET_TAG]: bucket })).toBe(true);
    expect(hasRolloutBucket("dev-9", {})).toBe(false);
    expect(hasRolloutBucket("dev-9", { [ROLLOUT_BUCKET_TAG]: (bucket + 1) % 100 })).toBe(false);
    expect(hasRolloutBucket("dev-9", { [ROLLOUT_BUCKET_TAG]: String(bucket) })).toBe(false);
  });
});
