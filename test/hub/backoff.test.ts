import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { backoffDelayMs, parseRetryAfter } from "../../lib/hub/backoff.js";

const policy = { baseDelayMs: 100, maxDelayMs: 2_000 };

describe("backoffDelayMs", () => {
  it("doubles the step per retry, half fixed and half jittered", () => {
    expect([1, 2, 3, 4].map((retry) => backoffDelayMs(retry, policy, () => 0))).toEqual([50, 100, 200, 400]);
    expect([1, 2, 3, 4].map((retry) => backoffDelayMs(retry, policy, () => 0.999999))).toEqual([
      99, 199, 399, 799,
    ]);
  });

  it("never exceeds the maximum delay however many retries", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 200 }),
        fc.double({ min: 0, max: 0.999999, noNaN: true }),
        (retry, chance) => {
          const delay = backoffDelayMs(retry, policy, () => chance);
          expect(delay).toBeGreaterThanOrEqual(0);
          expect(delay).toBeLessThanOrEqual(policy.maxDelayMs);
        },
      ),
    );
  });

  it("waits at least the hub's Retry-After, plus at most one base delay of jitter", () => {
    expect(backoffDelayMs(1, policy, () => 0, 5_000)).toBe(5_000);
    expect(backoffDelayMs(1, policy, () => 0.5, 5_000)).toBe(5_050);
    // Retry-After wins over the cap of computed delays: the hub said so.
    expect(backoffDelayMs(9, policy, () => 0, 30_000)).toBe(30_000);
  });
});

describe("parseRetryAfter", () => {
  const now = Date.parse("2026-11-25T12:00:00Z");

  it("reads delta-seconds, fractional ones included", () => {
    expect(parseRetryAfter("3", now)).toBe(3_000);
    expect(parseRetryAfter(" 0.5 ", now)).toBe(500);
    expect(parseRetryAfter(["2", "9"], now)).toBe(2_000);
  });

  it("reads an HTTP date relative to now, never negative", () => {
    expect(parseRetryAfter("Wed, 25 Nov 2026 12:00:07 GMT", now)).toBe(7_000);
    expect(parseRetryAfter("Wed, 25 Nov 2026 11:59:00 GMT", now)).toBe(0);
  });

  it("ignores absent or unreadable values", () => {
    expect(parseRetryAfter(undefined, now)).toBeUndefined();
    expect(parseRetryAfter("", now)).toBeUndefined();
    expect(parseRetryAfter("soon", now)).toBeUndefined();
  });
});
