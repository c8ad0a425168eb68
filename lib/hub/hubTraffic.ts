// Every request one process of the app sends one hub, whichever client sent it: counted by the budget
// it spends, who sent it (the scheduler's applier or the rest of the app) and its outcome, for the
// metrics; the configuration operations the rest of the app made, for the scheduler's budget (it
// plans only its own); and the hub's last answers, for the node's HubReachable condition.
import type { AttemptOutcome, HubAttemptEvent, HubBudgetClass } from "./hubCallStats.js";

/** Who sent a request: the scheduler's applier spends its own budget; anything else must be told to it. */
export type HubCaller = "scheduler" | "app";

export interface HubRequestCount {
  budget: HubBudgetClass;
  caller: HubCaller;
  outcome: AttemptOutcome;
  count: number;
}

/** Whether the hub answers: a 429 is an answer (the hub is busy, not down). */
export interface HubReachability {
  /** undefined until the first answer */
  reachable?: boolean;
  throttled: boolean;
  /** the last failure's status code and when it came, while the hub is not reachable */
  failure?: { atMs: number; statusCode?: number; outcome: AttemptOutcome };
}

export class HubTraffic {
  private readonly counts = new Map<string, HubRequestCount>();
  private unaccountedConfigurationOperations = 0;
  private last: { atMs: number; outcome: AttemptOutcome; statusCode?: number } | undefined;

  record(caller: HubCaller, event: HubAttemptEvent, nowMs: number): void {
    const budget = event.budget ?? "twinReads";
    const key = `${budget}|${caller}|${event.outcome}`;
    const entry = this.counts.get(key) ?? { budget, caller, outcome: event.outcome, count: 0 };
    entry.count += 1;
    this.counts.set(key, entry);
    if (caller === "app" && budget === "configurations") this.unaccountedConfigurationOperations += 1;
    this.last = {
      atMs: nowMs,
      outcome: event.outcome,
      ...(event.statusCode !== undefined && { statusCode: event.statusCode }),
    };
  }

  requests(): HubRequestCount[] {
    return [...this.counts.values()].map((entry) => ({ ...entry }));
  }

  /** Configuration operations sent outside the scheduler since the last call (to spend from its budget). */
  takeUnaccountedConfigurationOperations(): number {
    const taken = this.unaccountedConfigurationOperations;
    this.unaccountedConfigurationOperations = 0;
    return taken;
  }

  reachability(): HubReachability {
    if (this.last === undefined) return { throttled: false };
    const { outcome } = this.last;
    if (outcome === "success" || outcome === "recovered") return { reachable: true, throttled: false };
    if (outcome === "throttled") return { reachable: true, throttled: true };
    // "failed" covers 4xx answers about a request (404, 409, 412): the hub answered
    if (outcome === "failed" && this.last.statusCode !== undefined && this.last.statusCode < 500)
      return { reachable: true, throttled: false };
    return { reachable: false, throttled: false, failure: { ...this.last } };
  }
}
