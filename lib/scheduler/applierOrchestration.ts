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
import { runHubAction, type HubConnector } from "./hubOperations.js";
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

/** The runAction activity: a setup problem (unknown hub, no credentials) is an outcome the scheduler backs off on. */
export async function runActionActivity(
  input: { hub: string; action: HubAction },
  connectorOf: (hub: string) => HubConnector,
): Promise<ActionResult> {
  try {
    return await runHubAction(input.action, connectorOf(input.hub));
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    const { action } = input;
    if (action.kind === "inventory") return { kind: "inventory", outcome: "failed", message };
    const configurationId = action.kind === "create" ? action.configuration.id : action.configurationId;
    return { kind: action.kind, configurationId, outcome: "failed", message };
  }
}

/** The notify activity: raises configurationReady to each waiting orchestration. */
export async function notifyActivity(
  notifications: readonly PendingNotification[],
  client: { raiseEvent(instanceId: string, eventName: string, eventData: unknown): Promise<void> },
  warn: (message: string) => void,
): Promise<void> {
  for (const { instanceId, event } of notifications) {
    // A pod orchestration that ended meanwhile has nobody left to tell.
    await client
      .raiseEvent(instanceId, configurationReadyEventName, event)
      .catch((error: unknown) => warn(`configurationReady to ${instanceId}: ${String(error)}`));
  }
}
