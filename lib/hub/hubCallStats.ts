// Observability of hub calls: every attempt is reported to an optional listener and counted, so the
// scheduler can count 429s and a dashboard can show retries without parsing logs.

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

/**
 * What a call does at the hub, as a stable name for metrics (the event's `operation` is for people).
 * Every `configuration.*` one counts against the hub's configuration operations budget.
 */
export const hubOperationKinds = [
  "configuration.create",
  "configuration.read",
  "configuration.list",
  "configuration.replace",
  "configuration.delete",
  "configuration.applyToDevice",
  "twins.query",
  "twin.read",
  "twin.updateTags",
  "moduleTwin.read",
  "module.invokeMethod",
] as const;
export type HubOperationKind = (typeof hubOperationKinds)[number];

/** Whether the hub counts the operation against its configuration budget (20 a minute per unit). */
export function isConfigurationOperation(kind: HubOperationKind): boolean {
  return kind.startsWith("configuration.");
}

export interface HubAttemptEvent {
  kind: HubOperationKind;
  operation: string;
  target: string;
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
}

export function emptyCounters(): HubCallCounters {
  return { attempts: 0, successes: 0, throttled: 0, transientFailures: 0, retries: 0, failures: 0 };
}

/** Adds one attempt to the counters. */
export function countAttempt(counters: HubCallCounters, event: HubAttemptEvent): void {
  counters.attempts += 1;
  if (event.outcome === "success" || event.outcome === "recovered") counters.successes += 1;
  if (event.outcome === "throttled") counters.throttled += 1;
  if (event.outcome === "transient") counters.transientFailures += 1;
  if (event.retryInMs !== undefined) counters.retries += 1;
  else if (event.outcome !== "success" && event.outcome !== "recovered") counters.failures += 1;
}
