// How an orchestration talks to its hub's scheduler: `yield* wantConfiguration(...)` and
// `yield* releaseConfiguration(...)` call the entity and wake the hub's applier when it sleeps past
// the new work. The answer carries the configuration's phase; when it is not OnHub, the orchestration
// waits for the `configurationReady` event (ConfigurationReadyEvent).
import * as df from "durable-functions";
import type { OrchestrationContext, Task } from "durable-functions";
import { applierActivityNames } from "./applierOrchestration.js";
import type { DemandResult } from "./applierProtocol.js";
import {
  hubSchedulerEntityName,
  type ReleaseConfiguration,
  type WantConfiguration,
} from "./schedulerContract.js";

function* demand(
  context: OrchestrationContext,
  hub: string,
  operation: "want" | "release",
  input: WantConfiguration | ReleaseConfiguration,
): Generator<Task, DemandResult, unknown> {
  const scheduler = new df.EntityId(hubSchedulerEntityName, hub);
  const result = (yield context.df.callEntity(scheduler, operation, input)) as DemandResult;
  if (result.wakeApplier) yield context.df.callActivity(applierActivityNames.wake, hub);
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

/** `want` without waiting for the answer: for a configuration on the hub, which needs no applier. */
export function signalWant(context: OrchestrationContext, hub: string, request: WantConfiguration): void {
  context.df.signalEntity(new df.EntityId(hubSchedulerEntityName, hub), "want", request);
}

/** What pod and base deployment orchestrations are given (replaceable in replay tests). */
export const schedulerCalls = { want: wantConfiguration, release: releaseConfiguration, signalWant };
