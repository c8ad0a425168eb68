// The retry loop with an injected clock and randomness: which failures are retried, how long it
// waits, when it gives up, and what it reports. Failures are the errors azure-iothub itself builds
// (RestApiClient.translateError) from a status and a hub error body.

import { RestApiClient } from "azure-iothub/dist/common-http/rest_api_client.js";
import { describe, expect, it } from "vitest";
import { emptyCounters, type HubAttemptEvent } from "../../lib/hub/hubCallStats.js";
import { HubNotFoundError, HubThrottledError, HubUnavailableError } from "../../lib/hub/hubErrors.js";
import { describeFailure } from "../../lib/hub/hubFailure.js";
import { callHub, DEFAULT_RETRY_OPTIONS, type HubCall, type RetryOptions } from "../../lib/hub/retry.js";

function sdkError(
  status: number,
  code: string,
  message: string,
  headers: Record<string, string> = {},
): Error {
  const body = JSON.stringify({ Message: `ErrorCode:${code};${message}`, ExceptionMessage: "Tracking ID:1" });
  return RestApiClient.translateError(body, { statusCode: status, headers });
}

function socketError(code: string, message: string): Error {
  return Object.assign(new Error(message), { code });
}

/** A virtual clock: sleeping advances it; nothing really waits. */
function virtualTime(random = 0.5) {
  let now = 1_000_000;
  const sleeps: number[] = [];
  return {
    sleeps,
    environment: {
      now: () => now,
      random: () => random,
      sleep: (ms: number) => {
        sleeps.push(ms);
        now += ms;
        return Promise.resolve();
      },
    },
  };
}

/** Runs a call whose attempts fail with the given errors in turn, then succeed. */
async function run(
  failures: Error[],
  options: Partial<RetryOptions> = {},
  call: Partial<HubCall<string>> = {},
) {
  const time = virtualTime();
  const events: HubAttemptEvent[] = [];
  const counters = emptyCounters();
  let attempts = 0;
  const result = await callHub(
    {
      kind: "configuration.create",
      operation: "create",
      target: 'configuration "web-1a2b"',
      repeatable: "always",
      attempt: () => {
        const failure = failures[attempts];
        attempts += 1;
        return failure === undefined ? Promise.resolve("done") : Promise.reject(failure);
      },
      ...call,
    },
    {
      options: { ...DEFAULT_RETRY_OPTIONS, baseDelayMs: 100, maxDelayMs: 1_000, ...options },
      environment: time.environment,
      counters,
      secrets: [],
      onAttempt: (event) => events.push(event),
    },
  ).catch((error: unknown) => error);
  return { result, attempts, sleeps: time.sleeps, events, counters };
}

const throttled = (retryAfter?: string) =>
  sdkError(
    429,
    "ThrottlingException",
    "Rate limit exceeded",
    retryAfter ? { "retry-after": retryAfter } : {},
  );

describe("callHub", () => {
  it("backs off exponentially with jitter between throttled attempts", async () => {
    const { result, sleeps } = await run([throttled(), throttled(), throttled()]);
    expect(result).toBe("done");
    // random = 0.5: three quarters of each doubling step.
    expect(sleeps).toEqual([75, 150, 300]);
  });

  it("honours Retry-After over the computed backoff", async () => {
    const { sleeps } = await run([throttled("4"), throttled()]);
    expect(sleeps).toEqual([4_050, 150]);
  });

  it("retries every transient failure the hub or the network produces", async () => {
    const transient = [
      sdkError(500, "ServerError", "boom"),
      sdkError(502, "BadGateway", "bad gateway"),
      sdkError(503, "ServiceUnavailable", "unavailable"),
      sdkError(504, "GatewayTimeout", "gateway timeout"),
      sdkError(408, "RequestTimeout", "timeout"),
      socketError("ECONNRESET", "read ECONNRESET"),
      socketError("ETIMEDOUT", "connect ETIMEDOUT"),
      socketError("ECONNRESET", "socket hang up"),
    ];
    const { result, attempts, counters } = await run(transient, { maxAttempts: 20 });
    expect(result).toBe("done");
    expect(attempts).toBe(transient.length + 1);
    expect(counters).toMatchObject({
      transientFailures: transient.length,
      retries: transient.length,
      failures: 0,
    });
  });

  it("does not retry a failure that repeating cannot fix", async () => {
    const { result, attempts } = await run([
      sdkError(404, "ConfigurationNotFound", "Configuration web-1a2b not found"),
    ]);
    expect(result).toBeInstanceOf(HubNotFoundError);
    expect(attempts).toBe(1);
  });

  it("stops after maxAttempts with the kind of the last failure", async () => {
    const { result, attempts, counters, events } = await run(Array(10).fill(throttled()), { maxAttempts: 4 });
    expect(result).toBeInstanceOf(HubThrottledError);
    expect((result as HubThrottledError).attempts).toBe(4);
    expect(attempts).toBe(4);
    expect(counters).toMatchObject({ attempts: 4, throttled: 4, retries: 3, failures: 1 });
    expect(events.at(-1)?.retryInMs).toBeUndefined();
  });

  it("stops when the next wait would pass the total time budget", async () => {
    const { result, sleeps } = await run(Array(10).fill(sdkError(503, "ServiceUnavailable", "x")), {
      maxAttempts: 100,
      baseDelayMs: 1_000,
      maxDelayMs: 1_000,
      maxTotalMs: 3_000,
    });
    expect(result).toBeInstanceOf(HubUnavailableError);
    expect(sleeps.reduce((sum, ms) => sum + ms, 0)).toBeLessThanOrEqual(3_000);
  });

  it("repeats a non-repeatable call only when the hub surely did not act on it", async () => {
    const once: Partial<HubCall<string>> = { repeatable: "ifNotDelivered" };
    expect((await run([throttled(), sdkError(503, "ServiceUnavailable", "x")], {}, once)).result).toBe(
      "done",
    );
    expect((await run([socketError("ECONNREFUSED", "connect ECONNREFUSED")], {}, once)).result).toBe("done");
    const timedOut = await run([sdkError(504, "GatewayTimeout", "device did not answer")], {}, once);
    expect(timedOut.result).toBeInstanceOf(HubUnavailableError);
    expect(timedOut.attempts).toBe(1);
    const reset = await run([socketError("ECONNRESET", "socket hang up")], {}, once);
    expect(reset.attempts).toBe(1);
  });

  it("asks whether an earlier attempt succeeded only on a repeated attempt", async () => {
    const asked: string[] = [];
    const confirm: Partial<HubCall<string>> = {
      confirmEarlierSuccess: (failure) => {
        asked.push(failure.kind);
        return Promise.resolve({ value: "found" });
      },
    };
    const first = await run([sdkError(409, "Conflict", "exists")], {}, confirm);
    expect(first.result).not.toBe("found");
    expect(asked).toEqual([]);
    const repeated = await run(
      [socketError("ECONNRESET", "socket hang up"), sdkError(409, "Conflict", "exists")],
      {},
      confirm,
    );
    expect(repeated.result).toBe("found");
    expect(asked).toEqual(["conflict"]);
    expect(repeated.events.map((event) => event.outcome)).toEqual(["transient", "recovered"]);
  });
});

describe("describeFailure", () => {
  it("reads status, the hub's code and message, and Retry-After from the SDK's error", () => {
    expect(describeFailure(throttled("2"), 0)).toEqual({
      kind: "throttled",
      statusCode: 429,
      hubErrorCode: "ThrottlingException",
      message: "Rate limit exceeded",
      retryAfterMs: 2_000,
    });
  });

  it("reads the newer JSON error shape too", () => {
    const error = RestApiClient.translateError(
      JSON.stringify({ errorCode: 403002, message: "Quota exceeded" }),
      {
        statusCode: 403,
        headers: {},
      },
    ) as Error;
    expect(describeFailure(error, 0)).toMatchObject({
      kind: "quotaExceeded",
      hubErrorCode: "403002",
      message: "Quota exceeded",
    });
  });

  it("treats a limit-exceeded code as quota whatever the status", () => {
    expect(describeFailure(sdkError(409, "ConfigurationCountLimitExceeded", "max 20"), 0).kind).toBe(
      "quotaExceeded",
    );
  });

  it("keeps a 429 retryable whatever code the hub gives it", () => {
    expect(describeFailure(sdkError(429, "IotHubQuotaExceeded", "slow down"), 0).kind).toBe("throttled");
  });

  it("calls a body too large invalid content", () => {
    expect(
      describeFailure(sdkError(413, "RequestEntityTooLarge", "Request body exceeds 262144 bytes"), 0).kind,
    ).toBe("invalidContent");
  });

  it("marks refused connections as never delivered and resets as possibly delivered", () => {
    expect(
      describeFailure(socketError("ECONNREFUSED", "connect ECONNREFUSED 127.0.0.1:443"), 0),
    ).toMatchObject({
      kind: "transient",
      notDelivered: true,
    });
    expect(describeFailure(socketError("ECONNRESET", "socket hang up"), 0)).not.toHaveProperty(
      "notDelivered",
    );
  });

  it("calls anything else a plain failure", () => {
    expect(describeFailure(new ReferenceError("configurationId cannot be falsy"), 0).kind).toBe("other");
  });
});
