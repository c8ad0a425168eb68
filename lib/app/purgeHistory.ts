// The durable history of finished orchestrations is not kept: a pod's orchestration carries the pod
// as the adapter sent it (the Secret values it refers to included) and its translated deployment,
// and once it has ended (the pod deleted, or failed) nothing of it is needed. A timer
// (functions/purgeHistory.ts, PURGE_SCHEDULE) purges every orchestration that has completed, failed
// or been terminated, with the durable-functions purge API.
import * as df from "durable-functions";
import type { DurableClient } from "durable-functions";

export const finishedStatuses = [
  df.OrchestrationRuntimeStatus.Completed,
  df.OrchestrationRuntimeStatus.Failed,
  df.OrchestrationRuntimeStatus.Terminated,
];

/** Purges the history of every finished orchestration created before `now`; returns how many. */
export async function purgeFinishedOrchestrations(client: DurableClient, now: Date): Promise<number> {
  const result = await client.purgeInstanceHistoryBy({
    createdTimeFrom: new Date(0),
    createdTimeTo: now,
    runtimeStatus: finishedStatuses,
  });
  return result.instancesDeleted;
}
