// The status model's inputs: what the app knows of a pod's lifecycle and of its deployment's
// devices. `derivePodStatus` (podStatus.ts) turns them into the Kubernetes pod status.
import type { RefusalReason } from "../policy/podRefusal.js";
import type { PodProblem } from "../translate/podErrors.js";
import type { ConfigurationPhase } from "../scheduler/schedulerContract.js";
import type { RolloutStageRecord } from "../rollout/rolloutStage.js";

/** Counts of the devices of a pod's deployment (fleet status). */
export interface FleetCounts {
  /** devices whose twin matches the target condition (and this deployment wins there) */
  targeted: number;
  /** devices whose edgeAgent reports the deployment applied */
  applied: number;
  /** devices on which every module of the pod runs */
  running: number;
  /** devices reporting a failure (module backoff/failed, or lastDesiredStatus error) */
  failed: number;
  /** targeted devices that are disconnected */
  offline: number;
}

/** Where the connector is with a pod, independent of the devices. */
export type PodLifecycle =
  | { stage: "Accepted" }
  /** translation or the node's fleet policy refused the pod: terminal, phase Failed with the
   * reason (UnsupportedPod when absent) and the problems */
  | { stage: "Refused"; problems: PodProblem[]; reason?: RefusalReason; node?: string }
  /** the pod's configuration is with the scheduler; its phase says what it waits for */
  | {
      stage: "Scheduled";
      configurationId: string;
      configuration: ConfigurationPhase;
      /** a replica of a Deployment's new ReplicaSet mid-rollout: its configuration reaches the first
       * `percent` rollout buckets with `targetCondition` (docs/staged-rollouts.md) */
      rollout?: RolloutStageRecord;
    }
  | { stage: "Deleting" };

/** One module on one device, as edgeAgent reports it. */
export interface DeviceModuleState {
  runtimeStatus: "unknown" | "backoff" | "running" | "unhealthy" | "stopped" | "failed";
  exitCode?: number;
  statusDescription?: string;
  restartCount?: number;
  lastStartTimeUtc?: string;
  lastExitTimeUtc?: string;
}

/** The fleet status of one configuration: counts, and enough detail for container statuses and the message. */
export interface FleetStatus {
  configurationId: string;
  /**
   * the target condition the devices were counted with (the configuration's, as the scheduler had it);
   * in a sum, only when every part was counted with the same one. Absent in statuses from before.
   */
  targetCondition?: string;
  counts: FleetCounts;
  /** per module: on how many applied devices it runs, its worst state, total restarts, last termination */
  modules: Record<
    string,
    {
      running: number;
      /** applied devices where a layer merged later defines the module too (runs its module there) */
      overridden?: number;
      /** the first few devices (sorted) where it runs: where container logs are read */
      runningOn?: string[];
      restartCount: number;
      worst?: { deviceId: string; state: DeviceModuleState };
      lastTermination?: { deviceId: string; exitCode: number; finishedAt?: string; reason?: string };
    }
  >;
  /**
   * applied devices whose edgeAgent processed the deployment and reports success (200) or failure,
   * as the hub's reportedSuccessfulCount and reportedFailedCount count them: what the reconcile
   * timer compares with the hub's metrics (running and failed also look at the modules)
   */
  reported?: { successful: number; failed: number };
  /** a few failing devices with the reason, for the message (`tempSensor backoff on dev-3`) */
  failures: { deviceId: string; module?: string; reason: string }[];
  /** when this was computed (ISO), and from which source: device events or the hub's metrics */
  computedAt: string;
  source: "events" | "hubMetrics";
  /**
   * increases with every change of this status on its hub, whichever app instance made it (never for
   * a recomputation that changed nothing): the sum of the versions of its per-partition parts
   */
  version: number;
}
