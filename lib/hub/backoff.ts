// Delays between attempts: exponential with jitter, and never shorter than the hub's Retry-After.
// Hand-written (a few lines) because the retry libraries at hand (p-retry, exponential-backoff)
// compute their own delay and would need a wrapper to honour a server-sent Retry-After anyway.

export interface BackoffPolicy {
  /** Delay scale of the first retry, in ms. */
  baseDelayMs: number;
  /** Upper bound of a computed (not server-sent) delay, in ms. */
  maxDelayMs: number;
}

/**
 * Delay before retry number `retry` (1 for the first retry): "equal jitter" — half of the exponential
 * step is fixed so delays grow, half is random so callers that failed together do not retry together.
 * When the hub sent Retry-After, wait at least that long, plus a jitter of up to one base delay.
 */
export function backoffDelayMs(
  retry: number,
  policy: BackoffPolicy,
  random: () => number,
  retryAfterMs?: number,
): number {
  if (retryAfterMs !== undefined) return retryAfterMs + Math.floor(random() * policy.baseDelayMs);
  const step = backoffStepMs(retry, policy);
  return Math.floor(step / 2 + random() * (step / 2));
}

/** The exponential step of retry number `retry` without jitter (orchestrations must be deterministic). */
export function backoffStepMs(retry: number, policy: BackoffPolicy): number {
  return Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** Math.max(0, retry - 1));
}

/** Retry-After as milliseconds: delta-seconds or an HTTP date; undefined when absent or unreadable. */
export function parseRetryAfter(value: string | string[] | undefined, nowMs: number): number | undefined {
  const text = (Array.isArray(value) ? value[0] : value)?.trim();
  if (!text) return undefined;
  if (/^\d+(\.\d+)?$/.test(text)) return Math.round(Number(text) * 1000);
  const date = Date.parse(text);
  return Number.isNaN(date) ? undefined : Math.max(0, date - nowMs);
}
