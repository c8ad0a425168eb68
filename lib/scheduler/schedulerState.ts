// The per-hub scheduler's whole state, as the `hubScheduler` entity stores it. It extends the
// contract's view (what pods, the status model and operators read) with the planner's bookkeeping.
// Plain JSON: it travels through the entity's storage on every operation.
import type { ConfigurationNames } from "../policy/nameConflicts.js";
import type { EdgeConfiguration } from "../translate/deploymentTypes.js";
import type { HubBudget, TokenBucket } from "./hubBudget.js";
import type { HubSchedulerView, PodKey } from "./schedulerContract.js";

export interface ConfigurationRecord {
  /**
   * The content, kept only until the hub has it: it may hold a pod's Secret values. A configuration
   * that vanishes from the hub later is created again from the content its pods send once more.
   */
  configuration?: EdgeConfiguration;
  /** Its names, kept for as long as the record: what name conflicts compare (no secret values). */
  names?: ConfigurationNames;
  /**
   * The orchestration of each pod that holds it, to ask for the content again: "" for the pod's own
   * (podInstanceIdOfKey), which is not written out: at 1,000 pods the ids were most of the state.
   */
  holders?: Record<PodKey, string>;
  /** The app's own configuration (its base deployment): its content is kept (WantConfiguration.retainContent). */
  retainContent?: boolean;
  onHub: boolean;
  inFlight?: "create" | "delete" | "retarget";
  /**
   * The target condition and priority the hub holds when the configuration's (its managed view's)
   * changed since it was created: an in-place update is due, and `configuration` keeps the content
   * it carries until the hub has it. Absent: the hub holds the managed ones.
   */
  hubTarget?: { targetCondition: string; priority: number };
  /** Pod orchestrations waiting for it to land on the hub (no instanceId: the pod's own, as in `holders`). */
  notify: { pod: PodKey; instanceId?: string }[];
  /** Pods that released it; its delete waits until what they want instead is on the hub. */
  releasedBy: PodKey[];
  /** When the last pod released it (epoch ms); the grace period counts from here. */
  releasedAtMs?: number;
  /** The hub's reason for refusing it. */
  refused?: string;
}

export interface SchedulerState extends HubSchedulerView {
  budget: HubBudget;
  graceMs: number;
  bucket: TokenBucket;
  /** Configurations to create, in the order they were first wanted. */
  createQueue: string[];
  records: Record<string, ConfigurationRecord>;
  /** Deployments on the hub that the connector does not own (from the hub's list). */
  foreignDeployments: number;
  /** The hub's list is read before the first create and whenever the count may be wrong. */
  inventory: "needed" | "inFlight" | "known";
  /** No hub operation before this (epoch ms): a 429's retry hint or a backoff after failures. */
  holdUntilMs?: number;
  /** Consecutive throttled or failed operations, for the backoff when the hub gives no hint. */
  failureStreak: number;
  /** The last operation failure that was not the pod's fault (e.g. unauthorized), redacted. */
  lastError?: string;
  /** What the applier is doing: working (it asks again by itself) or asleep until a time (or idle). */
  applier: { busy: boolean; sleepingUntilMs?: number };
}

export interface SchedulerSettings {
  hub: string;
  budget: HubBudget;
  graceSeconds: number;
}

export function newSchedulerState(settings: SchedulerSettings, nowMs: number): SchedulerState {
  return {
    hub: settings.hub,
    configurations: {},
    deploymentsOnHub: 0,
    deploymentLimit: settings.budget.deploymentLimit,
    counters: { creates: 0, deletes: 0, throttled: 0, coalesced: 0 },
    budget: settings.budget,
    graceMs: settings.graceSeconds * 1000,
    bucket: { tokens: settings.budget.burst, atMs: nowMs },
    createQueue: [],
    records: {},
    foreignDeployments: 0,
    inventory: "needed",
    failureStreak: 0,
    applier: { busy: false },
  };
}

/** Applies changed settings (SKU, units, grace) to a stored state. */
export function applySettings(state: SchedulerState, settings: SchedulerSettings): void {
  state.budget = settings.budget;
  state.deploymentLimit = settings.budget.deploymentLimit;
  state.graceMs = settings.graceSeconds * 1000;
}

/** The contract's view: what others may read, without content (it may hold registry credentials). */
export function schedulerView(state: SchedulerState): HubSchedulerView {
  return {
    hub: state.hub,
    ...(state.revision !== undefined && { revision: state.revision }),
    configurations: state.configurations,
    deploymentsOnHub: state.deploymentsOnHub,
    deploymentLimit: state.deploymentLimit,
    ...(state.throttledUntil !== undefined && { throttledUntil: state.throttledUntil }),
    ...(state.hubTrouble !== undefined && { hubTrouble: state.hubTrouble }),
    counters: state.counters,
  };
}
