import { describe, expect, it } from "vitest";
import { retryDelayMs } from "../../../dev/host/durable/orchestrationEpisode.js";

describe("activity retry delays", () => {
  it("waits the first interval, then grows by the backoff coefficient up to the maximum", () => {
    const options = {
      firstRetryIntervalInMilliseconds: 1000,
      maxNumberOfAttempts: 5,
      backoffCoefficient: 2,
      maxRetryIntervalInMilliseconds: 5000,
    };
    expect([1, 2, 3, 4].map((failed) => retryDelayMs(options, failed))).toEqual([1000, 2000, 4000, 5000]);
  });

  it("keeps the first interval when no backoff coefficient is given", () => {
    expect(retryDelayMs({ firstRetryIntervalInMilliseconds: 250, maxNumberOfAttempts: 3 }, 3)).toBe(250);
  });
});
