// The orchestrations and the scheduler entity through durable-functions' client (the Durable
// extension's HTTP API): what the provider and the status pipeline need from it.
import * as df from "durable-functions";
import type { DurableClient } from "durable-functions";
import { baseDeploymentInstanceId, baseDeploymentOrchestrationName } from "../provider/baseDeployment.js";
import type { SweepWorkflows } from "../provider/configurationSweep.js";
import { podOrchestrationName, type PodOrchestrationInput } from "../provider/podOrchestration.js";
import type { PodWorkflows } from "../provider/providerService.js";
import type { HubTraffic } from "../hub/hubTraffic.js";
import {
  hubSchedulerEntityName,
  type AccountOperations,
  type HubSchedulerView,
} from "../scheduler/schedulerContract.js";
import {
  schedulerCallOrchestrationName,
  type SchedulerCallInput,
  type SchedulerOperation,
} from "../scheduler/schedulerCalls.js";

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

/** The hub scheduler's view of its configurations (its entity state), undefined before its first operation. */
export async function readSchedulerView(
  client: DurableClient,
  hub: string,
): Promise<HubSchedulerView | undefined> {
  const response = await client.readEntityState<HubSchedulerView>(
    new df.EntityId(hubSchedulerEntityName, hub),
  );
  return response.entityExists ? response.entityState : undefined;
}

export function durableWorkflows(client: DurableClient): PodWorkflows {
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
    callScheduler: (hub, operation, input) =>
      callSchedulerFrom(client, hub, operation as SchedulerOperation, input),
  };
}

/** A scheduler operation from code with a durable client: the `hubSchedulerCall` orchestration runs it. */
export async function callSchedulerFrom(
  client: DurableClient,
  hub: string,
  operation: SchedulerOperation,
  input: unknown,
): Promise<void> {
  const call: SchedulerCallInput = { hub, operation, input };
  await client.startNew(schedulerCallOrchestrationName, { input: call });
}

/**
 * Hands the scheduler the configuration operations this process made on the hub outside it (they spent
 * the same budget), with what a list call among them found (`listed`), if any.
 */
export async function accountHubOperations(
  client: DurableClient,
  hub: string,
  traffic: HubTraffic,
  listed?: AccountOperations["listed"],
): Promise<void> {
  const operations = traffic.takeUnaccountedConfigurationOperations();
  if (operations === 0 && listed === undefined) return;
  const request: AccountOperations = { operations, ...(listed !== undefined && { listed }) };
  await callSchedulerFrom(client, hub, "accountOperations", request);
}

/** The sweep's view of the orchestrations (lib/provider/configurationSweep.ts). */
export function sweepWorkflows(client: DurableClient, traffic: (hub: string) => HubTraffic): SweepWorkflows {
  return {
    ...durableWorkflows(client),
    async endedPodOrchestrations() {
      const ended = await client.getStatusBy({
        runtimeStatus: [df.OrchestrationRuntimeStatus.Failed, df.OrchestrationRuntimeStatus.Terminated],
      });
      return new Map(
        ended
          .filter((status) => status.name === podOrchestrationName && status.input !== undefined)
          .map((status) => [status.instanceId, status.input as PodOrchestrationInput]),
      );
    },
    async runningInput(instanceId) {
      const status = await client.getStatus(instanceId, { showInput: true }).catch(() => undefined);
      return status !== undefined && activeStatuses.has(status.runtimeStatus)
        ? (status.input as PodOrchestrationInput)
        : undefined;
    },
    accountList: (hub, listed) => accountHubOperations(client, hub, traffic(hub), listed),
  };
}
