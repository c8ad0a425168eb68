import { describe, expect, it } from "vitest";
import { retryPolicyOf } from "../../../dev/host/retryPolicy.js";

const bindings = {};

describe("function retry policies", () => {
  it("has none when the registration sets no retry", () => {
    expect(retryPolicyOf({ name: "tick", bindings })).toBeUndefined();
  });

  it("waits the fixed delay before every retry", () => {
    const policy = retryPolicyOf({
      name: "tick",
      bindings,
      retryOptions: { retryStrategy: "fixedDelay", maxRetryCount: 3, delayInterval: { seconds: 5 } },
    });
    expect(policy?.maxRetryCount).toBe(3);
    expect([1, 2, 3].map((n) => policy!.delayMs(n))).toEqual([5000, 5000, 5000]);
  });

  it("doubles an exponential backoff from the minimum up to the maximum", () => {
    const policy = retryPolicyOf({
      name: "events",
      bindings,
      retryOptions: {
        retryStrategy: "exponentialBackoff",
        maxRetryCount: -1,
        minimumInterval: { seconds: 2 },
        maximumInterval: { seconds: 10 },
      },
    });
    expect([1, 2, 3, 4].map((n) => policy!.delayMs(n))).toEqual([2000, 4000, 8000, 10000]);
  });

  it("refuses an unknown strategy, naming the function", () => {
    expect(() =>
      retryPolicyOf({
        name: "events",
        bindings,
        retryOptions: { retryStrategy: "linear", maxRetryCount: 1 },
      }),
    ).toThrow('function "events": retry.strategy "linear" is not fixedDelay or exponentialBackoff');
  });
});
