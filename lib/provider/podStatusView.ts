// A pod record → the status the adapter writes. Until devices report (the status pipeline's fleet
// status), the status says where the connector is with the pod: accepted, refused (Failed,
// reason UnsupportedPod, every problem listed), waiting for the hub (its place in line), on the hub.
import type { V1PodStatus } from "@kubernetes/client-node";
import { formatProblem } from "../translate/index.js";
import type { ConfigurationPhase } from "../scheduler/schedulerContract.js";
import type { FleetCounts, ProviderPodStatus } from "./providerContract.js";
import type { PodRecord } from "./podRecords.js";

export const noDevices: FleetCounts = { targeted: 0, applied: 0, running: 0, failed: 0, offline: 0 };

function phaseMessage(
  configurationId: string,
  phase: ConfigurationPhase,
): { reason: string; message: string } {
  switch (phase.phase) {
    case "WaitingForHubBudget":
      return {
        reason: "WaitingForHubBudget",
        message: `deployment ${configurationId} waits for the hub's operation budget (place in line: ${phase.position})`,
      };
    case "HubDeploymentLimit":
      return {
        reason: "HubDeploymentLimit",
        message: `the hub holds ${phase.used} of ${phase.limit} deployments; deployment ${configurationId} waits for a free slot`,
      };
    case "Creating":
      return {
        reason: "CreatingDeployment",
        message: `deployment ${configurationId} is being created on the hub`,
      };
    case "OnHub":
      return {
        reason: "DeploymentOnHub",
        message: `deployment ${configurationId} is on the hub; waiting for devices to report`,
      };
    case "Releasing":
    case "Deleting":
      return {
        reason: "DeploymentLeaving",
        message: `deployment ${configurationId} is being removed from the hub`,
      };
    case "Refused":
      return {
        reason: "DeploymentRefused",
        message: `the hub refused deployment ${configurationId}: ${phase.message}`,
      };
  }
}

function lifecycleStatus(record: PodRecord): V1PodStatus {
  const { lifecycle } = record;
  const pending = (reason: string, message: string): V1PodStatus => ({
    phase: "Pending",
    reason,
    message,
    conditions: [{ type: "PodScheduled", status: "True" }],
  });
  switch (lifecycle.stage) {
    case "Accepted":
      return pending("Accepted", "the connector is translating the pod");
    case "Refused":
      return {
        phase: "Failed",
        reason: "UnsupportedPod",
        message: `IoT Edge cannot run this pod: ${lifecycle.problems.map(formatProblem).join("; ")}`,
      };
    case "Deleting":
      return pending("Deleting", "the pod's deployment is being released");
    case "Scheduled": {
      const { reason, message } = phaseMessage(lifecycle.configurationId, lifecycle.configuration);
      if (lifecycle.configuration.phase === "Refused") return { phase: "Failed", reason, message };
      return pending(reason, message);
    }
  }
}

export function podStatusView(record: PodRecord): ProviderPodStatus {
  return {
    namespace: record.namespace,
    name: record.name,
    uid: record.uid,
    ...(record.configurationId ? { configurationId: record.configurationId } : {}),
    status: lifecycleStatus(record),
    fleet: noDevices,
    version: record.version,
  };
}
