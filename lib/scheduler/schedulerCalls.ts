// How an orchestration talks to its hub's scheduler: `yield* wantConfiguration(...)`,
// `yield* releaseConfiguration(...)` and `yield* releasePodConfigurations(...)` call the entity and wake
// the hub's applier when it sleeps past the new work (code with only a durable client starts the
// `hubSchedulerCall` orchestration, which does the same). The answer carries the configuration's phase; when it is not OnHub, the orchestration
// waits for the `configurationReady` event (ConfigurationReadyEvent).
import * as df from "durable-functions";
import type { OrchestrationContext, Task } from "durable-functions";
import { applierActivityNames } from "./applierOrchestration.js";
import type { DemandResult } from "./applierProtocol.js";
import type { PodReleaseResult } from "./hubPlanner.js";
import {
  hubSchedulerEntityName,
  type ReleaseConfiguration,
  type ReleasePod,
  type WantConfiguration,
} from "./schedulerContract.js";

/** Calls the hub's scheduler entity and wakes its applier when the answer says so. */
export function* callScheduler<Result extends { wakeApplier: boolean }>(
  context: OrchestrationContext,
  hub: string,
  operation: SchedulerOperation,
  input: unknown,
): Generator<Task, Result, unknown> {
  const scheduler = new df.EntityId(hubSchedulerEntityName, hub);
  const result = (yield context.df.callEntity(scheduler, operation, input)) as Result;
  if (result.wakeApplier) yield context.df.callActivity(applierActivityNames.wake, hub);
  return result;
}

export function wantConfiguration(context: OrchestrationContext, hub: string, request: WantConfiguration) {
  return callScheduler<DemandResult>(context, hub, "want", request);
}

export function releaseConfiguration(
  context: OrchestrationContext,
  hub: string,
  request: ReleaseConfiguration,
) {
  return callScheduler<DemandResult>(context, hub, "release", request);
}

/** Every configuration the pod holds but `keep` is released (or, with `holdAs`, held for its owner). */
export function releasePodConfigurations(context: OrchestrationContext, hub: string, request: ReleasePod) {
  return callScheduler<PodReleaseResult>(context, hub, "releasePod", request);
}

/** Operations others than the applier send the scheduler (each answers `wakeApplier`). */
export type SchedulerOperation = "want" | "release" | "releasePod" | "adoptOrphans" | "accountOperations";

/** The orchestration code with a durable client starts to call the scheduler (`hubSchedulerCall`). */
export const schedulerCallOrchestrationName = "hubSchedulerCall";

export interface SchedulerCallInput {
  hub: string;
  operation: SchedulerOperation;
  input: unknown;
}

/** A client cannot learn an entity's answer from a signal, so it starts this: call, then wake if asked. */
export function* schedulerCallOrchestrator(context: OrchestrationContext): Generator<Task, unknown, unknown> {
  const { hub, operation, input } = context.df.getInput<SchedulerCallInput>();
  return yield* callScheduler(context, hub, operation, input);
}

/** What pod and base deployment orchestrations are given (replaceable in replay tests). */
export const schedulerCalls = {
  want: wantConfiguration,
  release: releaseConfiguration,
  releasePod: releasePodConfigurations,
};
