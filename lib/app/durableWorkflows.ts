// The pod orchestrations through durable-functions' client (the Durable extension's HTTP API).
import * as df from "durable-functions";
import type { DurableClient } from "durable-functions";
import { baseDeploymentInstanceId, baseDeploymentOrchestrationName } from "./baseDeployment.js";
import { podOrchestrationName } from "../provider/podOrchestration.js";
import type { PodWorkflows } from "../provider/providerService.js";
import { hubSchedulerEntityName } from "../scheduler/schedulerContract.js";

const activeStatuses = new Set<string>([
  df.OrchestrationRuntimeStatus.Running,
  df.OrchestrationRuntimeStatus.Pending,
  df.OrchestrationRuntimeStatus.ContinuedAsNew,
]);

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
      await client.startNew(podOrchestrationName, { instanceId, input });
    },
    async startBaseDeployment(hub, input) {
      await client.startNew(baseDeploymentOrchestrationName, {
        instanceId: baseDeploymentInstanceId(hub),
        input,
      });
    },
    async raise(instanceId, event, data) {
      await client.raiseEvent(instanceId, event, data);
    },
    async schedulerState(hub) {
      const response = await client.readEntityState(new df.EntityId(hubSchedulerEntityName, hub));
      return response.entityExists ? response.entityState : undefined;
    },
  };
}
