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
  /** orchestration instance to notify (raiseEvent "configurationReady") when the configuration is on the hub */
  notifyInstanceId?: string;
  /** the pod's owner (`ownerKey`, ownerHolds.ts): its holds pass to this pod */
  owner?: string;
}

/** Operation `release`: this pod no longer needs this configuration (idempotent). */
export interface ReleaseConfiguration {
  pod: PodKey;
  configurationId: string;
}

/** Operation `releasePod`: the pod lets go of every configuration it holds but `keep` (idempotent). */
export interface ReleasePod {
  pod: PodKey;
  /** the configuration the pod goes on holding (its new one, on the hub) */
  keep?: string;
  /** a hold (ownerHolds.ts) that takes the pod's place instead of a release: the pod left without user intent */
  holdAs?: string;
}

/** Operation `accountOperations`: configuration operations the app made on the hub outside the scheduler. */
export interface AccountOperations {
  operations: number;
  /** what a list call among them found: the ids on the hub, and when the list was read (ISO) */
  listed?: { ids: string[]; at: string };
}

export type ConfigurationPhase =
  /** waiting for the hub's operation budget; `position` is its place in line (1 = next); `hub`: why the hub waits (429, failures) */
  | { phase: "WaitingForHubBudget"; position: number; hub?: string }
  /** the hub is full: `used`/`limit` deployments */
  | { phase: "HubDeploymentLimit"; used: number; limit: number }
  | { phase: "Creating" }
  | { phase: "OnHub" }
  /** no pod needs it any more; deleted after the grace period */
  | { phase: "Releasing"; deleteAfter: string }
  | { phase: "Deleting" }
  /** the hub refused it (invalid content etc.): the message says why; not retried */
  | { phase: "Refused"; message: string };

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
  pods: PodKey[];
  state: ConfigurationPhase;
}

/** Operation `status` returns this; `readEntityState` gives the whole entity state, which contains it. */
export interface HubSchedulerView {
  hub: string;
  configurations: Record<string, ManagedConfiguration>;
  deploymentsOnHub: number;
  deploymentLimit: number;
  /** when the hub is throttled as a whole, until when (ISO time) */
  throttledUntil?: string;
  /** the last hub operation failure that was not the pod's fault (redacted), until an operation succeeds */
  lastError?: string;
  counters: { creates: number; deletes: number; throttled: number; coalesced: number };
}
