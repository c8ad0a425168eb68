// The per-hub applier: a singleton orchestration (`hubApplier-<hub>`) that asks the hub's scheduler
// entity for work, runs the hub operations as activities, reports the outcomes, tells waiting pod
// orchestrations, and sleeps on a durable timer until the next budget token, the end of a throttle or
// a grace period, or until woken. A timer keeps every hub's applier alive.
import { app } from "@azure/functions";
import * as df from "durable-functions";
import type { Task } from "durable-functions";
import {
  applierWakeEventName,
  configurationReadyEventName,
  type ActionResult,
  type ApplierWork,
  type HubAction,
  type PendingNotification,
} from "../lib/scheduler/applierProtocol.js";
import { applierOrchestrationName, wakeHubApplier } from "../lib/scheduler/applierWake.js";
import { connectorFor, runHubAction, type HubConnector } from "../lib/scheduler/hubOperations.js";
import { hubSchedulerEntityName } from "../lib/scheduler/schedulerContract.js";
import { appSettings } from "./hubScheduler.js";

export const runActionActivity = "hubSchedulerRunAction";
export const notifyActivity = "hubSchedulerNotify";
export const wakeActivity = "hubSchedulerWakeApplier";
/** Rounds before the orchestration starts over (continueAsNew) to keep its history short. */
const roundsPerEpisode = 50;

df.app.orchestration(applierOrchestrationName, function* (context) {
  const hub = context.df.getInput<string>();
  const scheduler = new df.EntityId(hubSchedulerEntityName, hub);
  // One pending wait for a wake: a second wait for the same event name would never complete.
  let woken: Task | undefined;
  for (let round = 0; round < roundsPerEpisode; round++) {
    const work = (yield context.df.callEntity(scheduler, "next")) as ApplierWork;
    if (work.actions.length > 0) {
      const results = (yield context.df.Task.all(
        work.actions.map((action) => context.df.callActivity(runActionActivity, { hub, action })),
      )) as ActionResult[];
      const notifications = (yield context.df.callEntity(
        scheduler,
        "report",
        results,
      )) as PendingNotification[];
      if (notifications.length > 0) yield context.df.callActivity(notifyActivity, notifications);
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
});

const connectors = new Map<string, HubConnector>();
function connectorOf(hub: string): HubConnector {
  let connector = connectors.get(hub);
  if (!connector) {
    const hubSettings = appSettings().hubs.find((h) => h.name === hub);
    if (!hubSettings) throw new Error(`hub "${hub}" is not among the app's hubs (CONNECTOR_HUBS)`);
    if (hubSettings.connectionString === undefined)
      throw new Error(
        `hub "${hub}": the scheduler needs a connection string (managed identity is not supported yet)`,
      );
    connector = connectorFor(hubSettings.connectionString);
    connectors.set(hub, connector);
  }
  return connector;
}

df.app.activity(runActionActivity, {
  handler: async (input: { hub: string; action: HubAction }): Promise<ActionResult> => {
    try {
      return await runHubAction(input.action, connectorOf(input.hub));
    } catch (error) {
      // A setup problem (unknown hub, no connection string): the scheduler backs off and shows it.
      const message = error instanceof Error ? error.message : String(error);
      return input.action.kind === "inventory"
        ? { kind: "inventory", outcome: "failed", message }
        : {
            kind: input.action.kind,
            configurationId:
              input.action.kind === "create" ? input.action.configuration.id : input.action.configurationId,
            outcome: "failed",
            message,
          };
    }
  },
});

df.app.activity(notifyActivity, {
  extraInputs: [df.input.durableClient()],
  handler: async (notifications: PendingNotification[], context) => {
    const client = df.getClient(context);
    for (const { instanceId, event } of notifications) {
      // A pod orchestration that ended meanwhile has nobody left to tell.
      await client
        .raiseEvent(instanceId, configurationReadyEventName, event)
        .catch((error: unknown) => context.warn(`configurationReady to ${instanceId}: ${String(error)}`));
    }
  },
});

df.app.activity(wakeActivity, {
  extraInputs: [df.input.durableClient()],
  handler: async (hub: string, context) => wakeHubApplier(df.getClient(context), hub),
});

app.timer("hubSchedulerKeepAlive", {
  schedule: "0 * * * * *",
  runOnStartup: true,
  extraInputs: [df.input.durableClient()],
  handler: async (_timer, context) => {
    const client = df.getClient(context);
    for (const hub of appSettings().hubs) {
      await wakeHubApplier(client, hub.name).catch((error: unknown) =>
        context.error(`keeping the applier of hub ${hub.name} alive: ${String(error)}`),
      );
    }
  },
});
