// The status model: how a pod's Kubernetes status follows from where the connector is with it
// (its lifecycle and its configuration's place at the scheduler) and from its fleet status
// (counts of devices that are targeted, applied it, run every module, fail, or are offline).
//
// phase    Failed     only when the pod was refused: reason UnsupportedPod or InputTooLarge (translation),
//                     NamespaceNotAllowed or PolicyViolation (the node's fleet policy),
//                     ModuleNameConflict, RouteNameConflict or RegistryCredentialConflict (the hub's
//                     scheduler), DeploymentRefused (the hub)
//          Pending    until at least one device runs every module; reason says what it waits for:
//                     Accepted, WaitingForHubBudget, HubDeploymentLimit, CreatingDeployment,
//                     NoDevicesTargeted, ApplyingOnDevices; HubThrottling or HubUnavailable when
//                     not on the hub yet while the hub has been in trouble for long (the message says
//                     since when, then what it waits for)
//          Running    at least one device runs every module
// conditions  PodScheduled and Initialized: the deployment is on the hub; ContainersReady and Ready:
//          every container is ready; iotedge.connector/Fleet: True when every targeted device runs the
//          pod, its message carries the counts.
// containers  ready when the module runs on every device that applied the deployment (but those where
//          a higher layer defines the module: fleetStatus.ts); the state shown
//          is the worst device's (failed > backoff > unhealthy > stopped > not started > running);
//          restartCount is summed over devices; lastState.terminated is the devices' latest exit.
// message  one line: `running on 4/5 devices, 1 failed: tempSensor backoff on dev-3`.
// staged   a replica of a Deployment's new ReplicaSet mid-rollout (lifecycle.rollout): its containers
//          and Ready follow its stage's health (rolloutStage.ts stageHealthy: none failing, every
//          connected device running), reason StageRunning / StageNotRunning, and the message names
//          the stage's buckets: `running on 120/1,000 devices, buckets 0-11`. A stage whose buckets
//          hold no device (its fleet status counted with the stage's own target condition, none
//          targeted) is Running and Ready: `stage buckets 0-33 holds no device`; a status not yet
//          counted with that condition (the previous stage's, or none) leaves it NoDevicesTargeted.
//
// Pure: the same inputs give the same status. Change detection uses FleetStatus.version (and the
// pod record's own version), not timestamps, so no condition carries a transition time here.
import type {
  V1ContainerState,
  V1ContainerStatus,
  V1PodCondition,
  V1PodStatus,
} from "@kubernetes/client-node";
import { refusalMessage } from "../policy/podRefusal.js";
import type { HubTrouble } from "../scheduler/schedulerContract.js";
import {
  emptyStageMessage,
  stageHealthy,
  stageHoldsNoDevice,
  stageMessage,
  type RolloutStageRecord,
} from "../rollout/rolloutStage.js";
import type { DeviceModuleState, FleetStatus, PodLifecycle } from "./statusContract.js";

export const FLEET_CONDITION = "iotedge.connector/Fleet";

export interface PodContainers {
  containers: { name: string; image: string }[];
  /** container name → the module it runs as */
  moduleNames: Record<string, string>;
}

type Condition = Pick<V1PodCondition, "type" | "status" | "reason" | "message">;

function condition(type: string, status: boolean, reason: string, message?: string): Condition {
  return { type, status: status ? "True" : "False", reason, ...(message !== undefined && { message }) };
}

function plural(count: number, word: string): string {
  return `${count} ${word}${count === 1 ? "" : "s"}`;
}

/** `running on 4/5 devices, 1 failed: tempSensor backoff on dev-3, 1 offline` */
export function fleetMessage(fleet: FleetStatus, rolloutPercent?: number): string {
  const { counts } = fleet;
  if (counts.targeted === 0) return "no device matches the target condition";
  const parts = [
    rolloutPercent === undefined
      ? `running on ${counts.running}/${plural(counts.targeted, "device")}`
      : stageMessage(counts.running, counts.targeted, rolloutPercent),
  ];
  if (counts.applied < counts.targeted) parts.push(`${counts.applied} applied`);
  if (counts.failed > 0) {
    const named = fleet.failures.map((f) => `${f.module ? `${f.module} ` : ""}${f.reason} on ${f.deviceId}`);
    const more = counts.failed > fleet.failures.length ? ", ..." : "";
    parts.push(`${counts.failed} failed: ${named.join(", ")}${more}`);
  }
  if (counts.offline > 0) parts.push(`${counts.offline} offline`);
  return parts.join(", ");
}

function countsMessage(fleet: FleetStatus): string {
  const { targeted, applied, running, failed, offline } = fleet.counts;
  return `targeted ${targeted}, applied ${applied}, running ${running}, failed ${failed}, offline ${offline}`;
}

function date(value: string | undefined): Date | undefined {
  return value === undefined || Number.isNaN(Date.parse(value)) ? undefined : new Date(value);
}

function stateOf(module: FleetStatus["modules"][string] | undefined, applied: number): V1ContainerState {
  const worst = module?.worst;
  if (!worst) return { waiting: { reason: applied > 0 ? "ContainerCreating" : "PodInitializing" } };
  const { state, deviceId } = worst;
  const message = `${state.statusDescription ?? state.runtimeStatus} (on ${deviceId})`;
  const byStatus: Record<DeviceModuleState["runtimeStatus"], () => V1ContainerState> = {
    running: () => {
      const startedAt = date(state.lastStartTimeUtc);
      return { running: startedAt ? { startedAt } : {} };
    },
    unhealthy: () => ({ waiting: { reason: "Unhealthy", message } }),
    backoff: () => ({ waiting: { reason: "Backoff", message } }),
    unknown: () => ({ waiting: { reason: "ContainerCreating", message } }),
    stopped: () => terminated("Stopped"),
    failed: () => terminated("Failed"),
  };
  function terminated(reason: string): V1ContainerState {
    const finishedAt = date(state.lastExitTimeUtc);
    return {
      terminated: { exitCode: state.exitCode ?? 0, reason, message, ...(finishedAt && { finishedAt }) },
    };
  }
  return byStatus[state.runtimeStatus]();
}

function containerStatuses(pod: PodContainers, fleet: FleetStatus | undefined): V1ContainerStatus[] {
  const applied = fleet?.counts.applied ?? 0;
  return pod.containers.map((container) => {
    const moduleName = pod.moduleNames[container.name] ?? container.name;
    const module = fleet?.modules[moduleName];
    const state = stateOf(module, applied);
    const last = module?.lastTermination;
    const finishedAt = date(last?.finishedAt);
    return {
      name: container.name,
      image: container.image,
      imageID: "",
      // a device where a higher layer defines the module runs that layer's module, not this one
      ready: applied > 0 && module !== undefined && module.running === applied - (module.overridden ?? 0),
      started: state.running !== undefined,
      restartCount: module?.restartCount ?? 0,
      state,
      ...(last && {
        lastState: {
          terminated: {
            exitCode: last.exitCode,
            ...(last.reason !== undefined && { reason: last.reason }),
            message: `on ${last.deviceId}`,
            ...(finishedAt && { finishedAt }),
          },
        },
      }),
    };
  });
}

interface Phase {
  phase: "Pending" | "Running" | "Failed";
  reason: string;
  message: string;
  /** the deployment is on the hub */
  onHub: boolean;
}

function fleetPhase(fleet: FleetStatus | undefined, rollout?: RolloutStageRecord): Phase {
  // a partial stage evaluated empty runs wherever it should: on none of the devices
  if (rollout && stageHoldsNoDevice(rollout, fleet))
    return { phase: "Running", reason: "", message: emptyStageMessage(rollout.percent), onHub: true };
  if (!fleet || fleet.counts.targeted === 0)
    return {
      phase: "Pending",
      reason: "NoDevicesTargeted",
      message: "no device matches the target condition",
      onHub: true,
    };
  const message = fleetMessage(fleet, rollout?.percent);
  if (fleet.counts.running > 0) return { phase: "Running", reason: "", message, onHub: true };
  return { phase: "Pending", reason: "ApplyingOnDevices", message, onHub: true };
}

function lifecyclePhase(lifecycle: PodLifecycle, fleet: FleetStatus | undefined): Phase {
  switch (lifecycle.stage) {
    case "Accepted":
      return {
        phase: "Pending",
        reason: "Accepted",
        message: "accepted; translating to an IoT Edge deployment",
        onHub: false,
      };
    case "Refused": {
      const reason = lifecycle.reason ?? "UnsupportedPod";
      const { problems, node } = lifecycle;
      return {
        phase: "Failed",
        reason,
        message: refusalMessage({ reason, problems, ...(node !== undefined && { node }) }),
        onHub: false,
      };
    }
    case "Deleting": {
      const current = fleetPhase(fleet);
      return { ...current, message: `deleting; ${current.message}` };
    }
    case "Scheduled":
      break;
  }
  const state = lifecycle.configuration;
  switch (state.phase) {
    case "WaitingForHubBudget":
      return {
        phase: "Pending",
        reason: "WaitingForHubBudget",
        message: `waiting for the hub's configuration budget: number ${state.position} in line`,
        onHub: false,
      };
    case "HubDeploymentLimit":
      return {
        phase: "Pending",
        reason: "HubDeploymentLimit",
        message: `the hub holds ${state.used} of its ${state.limit} deployments; waiting for a free one`,
        onHub: false,
      };
    case "Creating":
      return {
        phase: "Pending",
        reason: "CreatingDeployment",
        message: "creating the deployment on the hub",
        onHub: false,
      };
    case "Refused":
      // with a reason the scheduler refused it (another workload's names), else the hub did
      return {
        phase: "Failed",
        reason: state.reason ?? "DeploymentRefused",
        message: state.reason
          ? `refused: ${state.message}`
          : `the hub refused the deployment: ${state.message}`,
        onHub: false,
      };
    case "OnHub":
    case "Releasing":
    case "Deleting":
      return fleetPhase(fleet, lifecycle.rollout);
  }
}

const troubleReasons: Record<HubTrouble["kind"], string> = {
  Throttled: "HubThrottling",
  Unavailable: "HubUnavailable",
};

function troubleMessage(trouble: HubTrouble): string {
  return trouble.kind === "Throttled"
    ? `the hub has throttled the connector's configuration operations (429) since ${trouble.since}`
    : `the hub has not accepted the connector's configuration operations since ${trouble.since}`;
}

/** A pod that waits for the hub says first that the hub is in trouble; one on the hub is run by its devices. */
function withHubTrouble(current: Phase, trouble: HubTrouble | undefined): Phase {
  if (trouble === undefined || current.onHub || current.phase !== "Pending") return current;
  return {
    ...current,
    reason: troubleReasons[trouble.kind],
    message: `${troubleMessage(trouble)}; ${current.message}`,
  };
}

/**
 * The pod's Kubernetes status from its lifecycle and its configuration's fleet status; `hubTrouble`:
 * the hub's trouble when it has lasted long enough to be shown (lib/provider/hubTrouble.ts).
 */
export function derivePodStatus(
  lifecycle: PodLifecycle,
  fleet: FleetStatus | undefined,
  pod: PodContainers,
  hubTrouble?: HubTrouble,
): V1PodStatus {
  const { phase, reason, message, onHub } = withHubTrouble(lifecyclePhase(lifecycle, fleet), hubTrouble);
  const rollout = lifecycle.stage === "Scheduled" ? lifecycle.rollout : undefined;
  const staged = rollout !== undefined;
  // Mid-rollout a replica is ready when its stage is healthy, so the Deployment controller paces the fleet.
  const stageReady =
    rollout !== undefined &&
    fleet !== undefined &&
    (stageHealthy(fleet.counts) || stageHoldsNoDevice(rollout, fleet));
  const containers = containerStatuses(pod, onHub ? fleet : undefined).map((c) =>
    staged ? { ...c, ready: stageReady } : c,
  );
  const allReady = phase === "Running" && containers.every((c) => c.ready);
  const [readyReason, notReadyReason] = staged
    ? ["StageRunning", "StageNotRunning"]
    : ["AllModulesRunning", "ModulesNotRunningEverywhere"];
  const notOnHubReason = reason === "" ? "Running" : reason;
  const conditions: Condition[] = [
    condition("PodScheduled", onHub, onHub ? "DeploymentOnHub" : notOnHubReason),
    condition("Initialized", onHub, onHub ? "DeploymentOnHub" : notOnHubReason),
    condition("ContainersReady", allReady, allReady ? readyReason : notReadyReason),
    condition("Ready", allReady, allReady ? readyReason : notReadyReason),
  ];
  if (onHub && fleet) {
    const everywhere = fleet.counts.targeted > 0 && fleet.counts.running === fleet.counts.targeted;
    const fleetReason =
      fleet.counts.targeted === 0
        ? "NoDevicesTargeted"
        : everywhere
          ? "RunningOnAllDevices"
          : "NotRunningOnAllDevices";
    conditions.push(condition(FLEET_CONDITION, everywhere, fleetReason, countsMessage(fleet)));
  }
  return {
    phase,
    ...(reason !== "" && { reason }),
    message,
    conditions,
    containerStatuses: containers,
  };
}
