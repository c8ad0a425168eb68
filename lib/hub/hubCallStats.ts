// Observability of hub calls: every attempt is reported to an optional listener and counted, so the
// scheduler can count 429s and a dashboard can show retries without parsing logs. Each attempt names
// the hub budget it spends (IoT Hub throttles per class of operation, HUB-FACTS.md), so every query
// and configuration operation the app makes is counted against the right budget.

/** IoT Hub's throttle classes: configuration operations and twin queries are the scarce ones (20/min on S1). */
export const hubBudgetClasses = [
  "configurations",
  "queries",
  "twinReads",
  "twinUpdates",
  "directMethods",
] as const;
export type HubBudgetClass = (typeof hubBudgetClasses)[number];

export type AttemptOutcome =
  /** The attempt succeeded. */
  | "success"
  /** A retried call failed in a way an earlier lost success explains (409 after create, 404 after delete), and reading back confirmed it. */
  | "recovered"
  /** 429 from the hub. */
  | "throttled"
  /** 5xx, timeout or broken connection. */
  | "transient"
  /** Any other failure; never retried. */
  | "failed";

export interface HubAttemptEvent {
  operation: string;
  target: string;
  /** the hub budget the request spends */
  budget?: HubBudgetClass;
  /** 1 for the first attempt of a call. */
  attempt: number;
  outcome: AttemptOutcome;
  statusCode?: number;
  /** Set when another attempt follows after this delay. */
  retryInMs?: number;
  /** The hub's Retry-After, when it sent one. */
  retryAfterMs?: number;
  durationMs: number;
}

export interface HubCallCounters {
  /** Requests sent (every attempt). */
  attempts: number;
  /** Calls that ended in success (including recovered ones). */
  successes: number;
  /** Attempts answered with 429. */
  throttled: number;
  /** Attempts that failed transiently (5xx, timeouts, resets). */
  transientFailures: number;
  /** Attempts repeated after a failure. */
  retries: number;
  /** Calls that ended in an error. */
  failures: number;
  /** Requests sent per hub budget (every attempt spends it, a throttled one too). */
  byBudget: Record<HubBudgetClass, number>;
}

export function emptyCounters(): HubCallCounters {
  return {
    attempts: 0,
    successes: 0,
    throttled: 0,
    transientFailures: 0,
    retries: 0,
    failures: 0,
    byBudget: { configurations: 0, queries: 0, twinReads: 0, twinUpdates: 0, directMethods: 0 },
  };
}

/** Adds one attempt to the counters. */
export function countAttempt(counters: HubCallCounters, event: HubAttemptEvent): void {
  counters.attempts += 1;
  if (event.budget !== undefined) counters.byBudget[event.budget] += 1;
  if (event.outcome === "success" || event.outcome === "recovered") counters.successes += 1;
  if (event.outcome === "throttled") counters.throttled += 1;
  if (event.outcome === "transient") counters.transientFailures += 1;
  if (event.retryInMs !== undefined) counters.retries += 1;
  else if (event.outcome !== "success" && event.outcome !== "recovered") counters.failures += 1;
}
