// The per-hub scheduler (a durable entity keyed by hub name) that owns every configuration the
// connector keeps on a hub: pods ask for a configuration and release it; the scheduler creates,
// shares, and removes configurations within the hub's budget. Pod orchestrations, the status
// pipeline and the HTTP handlers depend on this contract, not on the scheduler's internals.
import type { EdgeConfiguration } from "../translate/deploymentTypes.js";

export const hubSchedulerEntityName = "hubScheduler";

/** `namespace/name/uid` */
export type PodKey = string;

/** Operation `want`: this pod needs this configuration (idempotent). */
export interface WantConfiguration {
  pod: PodKey;
  node: string;
  configuration: EdgeConfiguration;
  kind: "base" | "layered";
  /** module name → container name, for status */
  modules: Record<string, string>;
  /** `namespace/name` of the pod's workload across rollouts (the Deployment, not the ReplicaSet):
   * two workloads may not define the same module or route on the same devices */
  workload?: string;
  /** orchestration instance to notify (raiseEvent "configurationReady") when the configuration is on the hub */
  notifyInstanceId?: string;
  /**
   * Keep the content after the hub has it, to create it again by itself if it vanishes: only for
   * the app's own base deployment, built from app settings (no pod's data). A pod's content is
   * dropped once created.
   */
  retainContent?: boolean;
}

/** Operation `release`: this pod no longer needs this configuration (idempotent). */
export interface ReleaseConfiguration {
  pod: PodKey;
  configurationId: string;
}

/**
 * Operation `charge`: configuration operations the app sent to the hub outside the scheduler (the
 * status reconcile's list, ...); the hub counts them against the same budget, so the scheduler spends them too.
 */
export interface ChargeOperations {
  operations: number;
}

export type ConfigurationPhase =
  /** waiting for the hub's operation budget; `position` is its place in line (1 = next) */
  | { phase: "WaitingForHubBudget"; position: number }
  /** the hub is full: `used`/`limit` deployments */
  | { phase: "HubDeploymentLimit"; used: number; limit: number }
  | { phase: "Creating" }
  | { phase: "OnHub" }
  /** no pod needs it any more; deleted after the grace period */
  | { phase: "Releasing"; deleteAfter: string }
  | { phase: "Deleting" }
  /** the hub refused it (invalid content etc.), or the scheduler did (`reason`, e.g. ModuleNameConflict):
   * the message says why; not retried */
  | { phase: "Refused"; message: string; reason?: string };

/** What the scheduler knows of one configuration (part of the entity state others may read). */
export interface ManagedConfiguration {
  id: string;
  kind: "base" | "layered";
  targetCondition: string;
  priority: number;
  /** module name → container name */
  modules: Record<string, string>;
  /** module name → image, for container statuses */
  images: Record<string, string>;
  /** the workload that wanted it first (WantConfiguration.workload) */
  workload?: string;
  pods: PodKey[];
  state: ConfigurationPhase;
}

/**
 * The hub answers the scheduler's operations with 429 (Throttled) or fails them (Unavailable: 5xx,
 * no connection, ...) since `since` (ISO time); kept until an operation succeeds or none waits.
 */
export interface HubTrouble {
  kind: "Throttled" | "Unavailable";
  since: string;
}

/** Operation `status` returns this; `readEntityState` gives the whole entity state, which contains it. */
export interface HubSchedulerView {
  hub: string;
  /**
   * Increases with every operation on the scheduler: of two views, the one with the higher revision
   * is the newer (absent in states from before it was kept).
   */
  revision?: number;
  configurations: Record<string, ManagedConfiguration>;
  deploymentsOnHub: number;
  deploymentLimit: number;
  /** when the hub is throttled as a whole, until when (ISO time) */
  throttledUntil?: string;
  /** what the hub has answered the scheduler's operations with since they last succeeded */
  hubTrouble?: HubTrouble;
  counters: {
    creates: number;
    deletes: number;
    throttled: number;
    coalesced: number;
    /** configuration operations others sent to the hub, charged to the budget (absent in states from before) */
    charged?: number;
    /** target condition and priority changes made in place (staged rollouts); absent in older states */
    retargets?: number;
  };
}
