// How a pod orchestration talks to its hub's scheduler: `yield* wantConfiguration(...)` and
// `yield* releaseConfiguration(...)` call the entity and wake the hub's applier when it sleeps past
// the new work. The answer carries the configuration's phase; when it is not OnHub, the orchestration
// waits for the `configurationReady` event (ConfigurationReadyEvent).
import * as df from "durable-functions";
import type { OrchestrationContext, Task } from "durable-functions";
import type { DemandResult } from "../lib/scheduler/applierProtocol.js";
import {
  hubSchedulerEntityName,
  type ReleaseConfiguration,
  type WantConfiguration,
} from "../lib/scheduler/schedulerContract.js";
import { wakeActivity } from "./hubSchedulerApplier.js";

function* demand(
  context: OrchestrationContext,
  hub: string,
  operation: "want" | "release",
  input: WantConfiguration | ReleaseConfiguration,
): Generator<Task, DemandResult, unknown> {
  const scheduler = new df.EntityId(hubSchedulerEntityName, hub);
  const result = (yield context.df.callEntity(scheduler, operation, input)) as DemandResult;
  if (result.wakeApplier) yield context.df.callActivity(wakeActivity, hub);
  return result;
}

export function wantConfiguration(context: OrchestrationContext, hub: string, request: WantConfiguration) {
  return demand(context, hub, "want", request);
}

export function releaseConfiguration(
  context: OrchestrationContext,
  hub: string,
  request: ReleaseConfiguration,
) {
  return demand(context, hub, "release", request);
}
