// The orchestrations and the scheduler entity through durable-functions' client (the Durable
// extension's HTTP API): what the provider and the status pipeline need from it.
import * as df from "durable-functions";
import type { DurableClient } from "durable-functions";
import { baseDeploymentInstanceId, baseDeploymentOrchestrationName } from "../provider/baseDeployment.js";
import { podOrchestrationName } from "../provider/podOrchestration.js";
import type { PodWorkflows } from "../provider/providerService.js";
import type { TaskHubBacklog } from "./taskHubBacklog.js";
import { wakeHubApplier } from "../scheduler/applierWake.js";
import {
  hubSchedulerEntityName,
  type ChargeOperations,
  type HubSchedulerView,
  type ReleaseConfiguration,
} from "../scheduler/schedulerContract.js";
import type { SchedulerState } from "../scheduler/schedulerState.js";

const activeStatuses = new Set<string>([
  df.OrchestrationRuntimeStatus.Running,
  df.OrchestrationRuntimeStatus.Pending,
  df.OrchestrationRuntimeStatus.ContinuedAsNew,
]);

/** The Durable HTTP API answers 409 to a start of an instance that is already running. */
function isAlreadyRunning(error: unknown): boolean {
  return error instanceof Error && /unexpected status code: 409\b/.test(error.message);
}

/** Starts the instance; if another process started it first (a request racing ours there), it runs: done. */
async function startOnce(client: DurableClient, name: string, instanceId: string, input: unknown) {
  try {
    await client.startNew(name, { instanceId, input });
  } catch (error) {
    if (!isAlreadyRunning(error)) throw error;
  }
}

/** The hub scheduler's whole state (its entity state), undefined before its first operation. */
export async function readSchedulerState(
  client: DurableClient,
  hub: string,
): Promise<SchedulerState | undefined> {
  const response = await client.readEntityState<SchedulerState>(new df.EntityId(hubSchedulerEntityName, hub));
  return response.entityExists ? response.entityState : undefined;
}

/** The hub scheduler's view of its configurations (part of its entity state), undefined before its first operation. */
export async function readSchedulerView(
  client: DurableClient,
  hub: string,
): Promise<HubSchedulerView | undefined> {
  return readSchedulerState(client, hub);
}

/** Tells the hub's scheduler of configuration operations others sent to its hub (a signal: it charges its budget). */
export async function chargeScheduler(client: DurableClient, hub: string, operations: number): Promise<void> {
  const request: ChargeOperations = { operations };
  await client.signalEntity(new df.EntityId(hubSchedulerEntityName, hub), "charge", request);
}

/** A release from outside an orchestration (the sweep): a signal to the scheduler, then its applier woken. */
export async function releaseThroughScheduler(
  client: DurableClient,
  hub: string,
  request: ReleaseConfiguration,
): Promise<void> {
  await client.signalEntity(new df.EntityId(hubSchedulerEntityName, hub), "release", request);
  await wakeHubApplier(client, hub);
}

export function durableWorkflows(client: DurableClient, taskHubBacklog: TaskHubBacklog): PodWorkflows {
  return {
    async isRunning(instanceId) {
      try {
        const status = await client.getStatus(instanceId, { showInput: false });
        return activeStatuses.has(status.runtimeStatus);
      } catch (error) {
        // the client throws when the instance does not exist (404)
        if (error instanceof Error && /404|not found/i.test(error.message)) return false;
        throw error;
      }
    },
    async start(instanceId, input) {
      await startOnce(client, podOrchestrationName, instanceId, input);
    },
    async startBaseDeployment(hub, input) {
      await startOnce(client, baseDeploymentOrchestrationName, baseDeploymentInstanceId(hub), input);
    },
    async raise(instanceId, event, data) {
      await client.raiseEvent(instanceId, event, data);
    },
    schedulerState: (hub) => readSchedulerView(client, hub),
    backlog: () => taskHubBacklog.messages(client.taskHubName),
  };
}
