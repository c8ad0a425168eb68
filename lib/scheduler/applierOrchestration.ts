// The per-hub applier: a singleton orchestration (`hubApplier-<hub>`) that asks the hub's scheduler
// entity for work, runs the hub operations as activities, reports the outcomes, tells waiting pod
// orchestrations, and sleeps on a durable timer until the next budget token, the end of a throttle or
// a grace period, or until woken. Its activities' work is here too; functions/ only registers them.
import * as df from "durable-functions";
import type { OrchestrationContext, Task } from "durable-functions";
import {
  applierWakeEventName,
  configurationReadyEventName,
  type ActionResult,
  type ApplierWork,
  type HubAction,
  type PendingNotification,
} from "./applierProtocol.js";
import { operationFor, runHubAction, type HubConnector } from "./hubOperations.js";
import type { SchedulerState } from "./schedulerState.js";
import { hubSchedulerEntityName } from "./schedulerContract.js";

export const applierActivityNames = {
  runAction: "hubSchedulerRunAction",
  notify: "hubSchedulerNotify",
  wake: "hubSchedulerWakeApplier",
} as const;

/** Rounds before the orchestration starts over (continueAsNew) to keep its history short. */
export const applierRoundsPerEpisode = 50;

export function* hubApplierOrchestrator(context: OrchestrationContext): Generator<Task, undefined, unknown> {
  const hub = context.df.getInput<string>();
  const scheduler = new df.EntityId(hubSchedulerEntityName, hub);
  // One pending wait for a wake: a second wait for the same event name would never complete.
  let woken: Task | undefined;
  for (let round = 0; round < applierRoundsPerEpisode; round++) {
    const work = (yield context.df.callEntity(scheduler, "next")) as ApplierWork;
    if (work.actions.length > 0) {
      const results = (yield context.df.Task.all(
        work.actions.map((action) =>
          context.df.callActivity(applierActivityNames.runAction, { hub, action }),
        ),
      )) as ActionResult[];
      const notifications = (yield context.df.callEntity(
        scheduler,
        "report",
        results,
      )) as PendingNotification[];
      if (notifications.length > 0) yield context.df.callActivity(applierActivityNames.notify, notifications);
      continue;
    }
    woken ??= context.df.waitForExternalEvent(applierWakeEventName);
    if (work.wakeAt === undefined) {
      yield woken;
    } else {
      const timer = context.df.createTimer(new Date(work.wakeAt));
      yield context.df.Task.any([woken, timer]);
      if (!timer.isCompleted) timer.cancel();
    }
    if (woken.isCompleted) woken = undefined;
  }
  context.df.continueAsNew(hub);
  return undefined;
}

/**
 * The runAction activity: a create's content is read from the scheduler entity's state (`stateOf`),
 * so it never travels through the applier's history. A setup problem (unknown hub, no credentials)
 * is an outcome the scheduler backs off on. Once the hub created a configuration or moved its target
 * in place, `targetChanged` counts the fleet statuses again: a rollout stage that reaches no device
 * brings no device event, and its status must still say it was counted with the stage's condition.
 * Its failure leaves the outcome as it is (the hub holds the change; the next event or reconcile counts).
 */
export async function runActionActivity(
  input: { hub: string; action: HubAction },
  connectorOf: (hub: string) => HubConnector,
  stateOf: (hub: string) => Promise<Pick<SchedulerState, "records"> | undefined>,
  targetChanged?: (hub: string) => Promise<void>,
): Promise<ActionResult> {
  const { action } = input;
  try {
    const needsContent = action.kind === "create" || action.kind === "retarget";
    const state = needsContent ? await stateOf(input.hub) : undefined;
    const operation = operationFor(action, (id) => state?.records[id]?.configuration);
    if ("outcome" in operation) return operation;
    const result = await runHubAction(operation, connectorOf(input.hub));
    if (needsContent && result.outcome === "done") await targetChanged?.(input.hub).catch(() => undefined);
    return result;
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    if (action.kind === "inventory") return { kind: "inventory", outcome: "failed", message };
    return { ...action, outcome: "failed", message };
  }
}

/** The notify activity: raises each event (configurationReady by default) to its orchestration. */
export async function notifyActivity(
  notifications: readonly PendingNotification[],
  client: { raiseEvent(instanceId: string, eventName: string, eventData: unknown): Promise<void> },
  warn: (message: string) => void,
): Promise<void> {
  for (const { instanceId, event, eventName = configurationReadyEventName } of notifications) {
    // A pod orchestration that ended meanwhile has nobody left to tell.
    await client
      .raiseEvent(instanceId, eventName, event)
      .catch((error: unknown) => warn(`${eventName} to ${instanceId}: ${String(error)}`));
  }
}
