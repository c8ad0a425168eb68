// What passes between the scheduler entity and its per-hub applier orchestration: the entity hands
// out hub operations within the budget, the applier runs them (activities) and reports outcomes.
// A create names its configuration only: the content (which may hold a pod's Secret values) stays
// in the entity's state until the hub has it, and never enters the applier's history.
import type { ConfigurationPhase } from "./schedulerContract.js";

export type HubAction =
  | { kind: "create"; configurationId: string }
  | { kind: "delete"; configurationId: string }
  /** change a configuration's target condition and priority in place (one operation; content as created) */
  | { kind: "retarget"; configurationId: string; targetCondition: string; priority: number }
  /** read the hub's list of configurations, to count the ones the connector does not own */
  | { kind: "inventory" };

export type ActionOutcome =
  | { outcome: "done" }
  /** 429: the whole hub waits, at least as long as the hint */
  | { outcome: "throttled"; retryAfterMs?: number }
  /** 400: the hub refused the content; final */
  | { outcome: "refused"; message: string }
  /** the hub holds as many deployments as it may */
  | { outcome: "hubFull"; message: string }
  /** anything else (unavailable, unauthorized, ...): retried after a backoff */
  | { outcome: "failed"; message: string };

export type ActionResult =
  | ({ kind: "create" | "delete"; configurationId: string } & ActionOutcome)
  | ({ kind: "retarget"; configurationId: string; targetCondition: string; priority: number } & ActionOutcome)
  | ({ kind: "inventory"; configurationIds?: string[] } & ActionOutcome);

/** Entity operation `next` answers this: operations to run now, or when to ask again. */
export interface ApplierWork {
  actions: HubAction[];
  /** When there is nothing to do now: ask again at this ISO time (absent: when woken). */
  wakeAt?: string;
}

/** Payload of the `configurationReady` event raised to a waiting pod orchestration. */
export interface ConfigurationReadyEvent {
  configurationId: string;
  state: Extract<ConfigurationPhase, { phase: "OnHub" } | { phase: "Refused" }>;
}

export const configurationReadyEventName = "configurationReady";

/** Entity operations `want` and `release` answer this. */
export interface DemandResult {
  configurationId: string;
  /** The configuration's phase after the operation (absent when it is gone). */
  state?: ConfigurationPhase;
  /** The applier sleeps past new work: the caller should wake it (`wakeHubApplier`). */
  wakeApplier: boolean;
}

/**
 * Payload of the `configurationContentNeeded` event raised to the pods holding a configuration that
 * vanished from the hub after the scheduler dropped its content: each pod sends its spec again.
 */
export interface ConfigurationContentNeededEvent {
  configurationId: string;
}

export const configurationContentNeededEventName = "configurationContentNeeded";

/** Raise-event requests the applier carries out for the entity (entities cannot raise events). */
export type PendingNotification =
  | { instanceId: string; event: ConfigurationReadyEvent; eventName?: typeof configurationReadyEventName }
  | {
      instanceId: string;
      event: ConfigurationContentNeededEvent;
      eventName: typeof configurationContentNeededEventName;
    };

/** The singleton applier orchestration of one hub. */
export function applierInstanceId(hub: string): string {
  return `hubApplier-${hub}`;
}

export const applierWakeEventName = "work";
