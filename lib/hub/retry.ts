// One hub call with retries: throttling (429) and transient failures are retried with jittered
// exponential backoff that honours Retry-After, bounded by attempts and by total time; anything else
// fails at once with a typed, redacted error. Retries are idempotency-aware: a call may say how to
// recognise that an earlier attempt whose answer was lost did take effect.

import { backoffDelayMs } from "./backoff.js";
import {
  countAttempt,
  type AttemptOutcome,
  type HubAttemptEvent,
  type HubCallCounters,
  type HubOperationKind,
} from "./hubCallStats.js";
import { describeFailure, toHubError, type HubFailure } from "./hubFailure.js";
import { redact } from "./redact.js";

export interface RetryOptions {
  /** Attempts per call, the first included. */
  maxAttempts: number;
  /** No retry starts later than this after the call began, in ms (a Retry-After beyond it ends the call). */
  maxTotalMs: number;
  baseDelayMs: number;
  maxDelayMs: number;
  /** An attempt without an answer after this long counts as a transient failure (ETIMEDOUT). */
  attemptTimeoutMs: number;
}

export const DEFAULT_RETRY_OPTIONS: RetryOptions = {
  maxAttempts: 6,
  maxTotalMs: 60_000,
  baseDelayMs: 250,
  maxDelayMs: 10_000,
  attemptTimeoutMs: 30_000,
};

/** Time and chance, injectable so that tests of the backoff are deterministic. */
export interface RetryEnvironment {
  now: () => number;
  sleep: (ms: number) => Promise<void>;
  random: () => number;
}

export const REAL_ENVIRONMENT: RetryEnvironment = {
  now: () => Date.now(),
  sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
  random: () => Math.random(),
};

/** A logger shaped like pino's; messages reaching it are already redacted. */
export interface HubLogger {
  warn(fields: object, message: string): void;
}

export interface HubCall<T> {
  kind: HubOperationKind;
  operation: string;
  target: string;
  attempt: () => Promise<T>;
  /**
   * "always": repeating the request is harmless (reads, deletes, puts with the same body).
   * "ifNotDelivered": repeat only when the request surely had no effect (429, 503, refused
   * connection) — for direct methods, which a device must not run twice.
   */
  repeatable: "always" | "ifNotDelivered";
  /**
   * Asked when a repeated attempt fails with a conflict or not-found that an earlier attempt's lost
   * success would explain. Resolves `{ value }` when the hub's state shows that success.
   */
  confirmEarlierSuccess?: (failure: HubFailure) => Promise<{ value: T } | undefined>;
  /** Overrides the options' attempt timeout (direct methods wait for the device). */
  attemptTimeoutMs?: number;
}

export interface RetryContext {
  options: RetryOptions;
  environment: RetryEnvironment;
  counters: HubCallCounters;
  /** Exact secret values to strip from errors and logs. */
  secrets: readonly string[];
  onAttempt?: (event: HubAttemptEvent) => void;
  logger?: HubLogger;
}

class AttemptTimeout extends Error {}

function withTimeout<T>(promise: Promise<T>, timeoutMs: number): Promise<T> {
  if (!Number.isFinite(timeoutMs) || timeoutMs <= 0) return promise;
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => reject(new AttemptTimeout()), timeoutMs);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

function isRetryable(failure: HubFailure, repeatable: HubCall<unknown>["repeatable"]): boolean {
  if (failure.kind === "throttled") return true;
  if (failure.kind !== "transient") return false;
  return repeatable === "always" || failure.statusCode === 503 || failure.notDelivered === true;
}

function outcomeOf(failure: HubFailure, retryable: boolean): AttemptOutcome {
  if (failure.kind === "throttled") return "throttled";
  return retryable || failure.kind === "transient" ? "transient" : "failed";
}

/** Runs the call, retrying as the options allow; resolves its value or rejects with a HubError. */
export async function callHub<T>(call: HubCall<T>, context: RetryContext): Promise<T> {
  const { options, environment } = context;
  const timeoutMs = call.attemptTimeoutMs ?? options.attemptTimeoutMs;
  const startedAt = environment.now();
  const report = (event: HubAttemptEvent): void => {
    countAttempt(context.counters, event);
    context.onAttempt?.(event);
  };

  for (let attempt = 1; ; attempt += 1) {
    const attemptStartedAt = environment.now();
    const base = { kind: call.kind, operation: call.operation, target: call.target, attempt };
    let failure: HubFailure;
    try {
      const value = await withTimeout(call.attempt(), timeoutMs);
      report({ ...base, outcome: "success", durationMs: environment.now() - attemptStartedAt });
      return value;
    } catch (error) {
      failure =
        error instanceof AttemptTimeout
          ? { kind: "transient", message: `no answer within ${timeoutMs} ms (ETIMEDOUT)` }
          : describeFailure(error, environment.now());
    }
    const durationMs = environment.now() - attemptStartedAt;
    const status = failure.statusCode === undefined ? {} : { statusCode: failure.statusCode };

    if (
      attempt > 1 &&
      call.confirmEarlierSuccess &&
      (failure.kind === "conflict" || failure.kind === "notFound")
    ) {
      // A read-back that fails proves nothing: the original failure stands.
      const confirmed = await call.confirmEarlierSuccess(failure).catch(() => undefined);
      if (confirmed) {
        report({ ...base, ...status, outcome: "recovered", durationMs });
        return confirmed.value;
      }
    }

    const retryable = isRetryable(failure, call.repeatable);
    const delayMs = backoffDelayMs(attempt, options, environment.random, failure.retryAfterMs);
    const elapsedMs = environment.now() - startedAt;
    const retrying = retryable && attempt < options.maxAttempts && elapsedMs + delayMs <= options.maxTotalMs;
    report({
      ...base,
      ...status,
      outcome: outcomeOf(failure, retryable),
      durationMs,
      ...(retrying && { retryInMs: delayMs }),
      ...(failure.retryAfterMs !== undefined && { retryAfterMs: failure.retryAfterMs }),
    });
    if (!retrying) {
      throw toHubError(failure, {
        operation: call.operation,
        target: call.target,
        attempts: attempt,
        secrets: context.secrets,
      });
    }
    context.logger?.warn(
      { operation: call.operation, target: call.target, attempt, ...status, retryInMs: delayMs },
      redact(
        `${call.operation} ${call.target}: ${failure.message}; retrying in ${delayMs} ms`,
        context.secrets,
      ),
    );
    await environment.sleep(delayMs);
  }
}
