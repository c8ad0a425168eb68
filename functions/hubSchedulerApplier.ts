// The per-hub applier orchestration and its activities (lib/scheduler/applierOrchestration.ts), and a
// timer that keeps every hub's applier alive.
import { app } from "@azure/functions";
import * as df from "durable-functions";
import { connectorApp } from "../lib/app/connectorApp.js";
import { readSchedulerState } from "../lib/app/durableWorkflows.js";
import { redact } from "../lib/hub/redact.js";
import type { HubAction, PendingNotification } from "../lib/scheduler/applierProtocol.js";
import {
  applierActivityNames,
  hubApplierOrchestrator,
  notifyActivity,
  runActionActivity,
} from "../lib/scheduler/applierOrchestration.js";
import { applierOrchestrationName, wakeHubApplier } from "../lib/scheduler/applierWake.js";

df.app.orchestration(applierOrchestrationName, hubApplierOrchestrator);

df.app.activity(applierActivityNames.runAction, {
  extraInputs: [df.input.durableClient()],
  handler: (input: { hub: string; action: HubAction }, context) =>
    runActionActivity(
      input,
      (hub) => connectorApp().hubConnector(hub),
      (hub) => readSchedulerState(df.getClient(context), hub),
      (hub) =>
        connectorApp()
          .recountFleetStatuses(df.getClient(context), hub)
          .catch((error: unknown) => {
            context.warn(`counting the fleet statuses of ${hub} again: ${redact(String(error))}`);
          }),
    ),
});

df.app.activity(applierActivityNames.notify, {
  extraInputs: [df.input.durableClient()],
  handler: (notifications: PendingNotification[], context) =>
    notifyActivity(notifications, df.getClient(context), (message) => context.warn(message)),
});

df.app.activity(applierActivityNames.wake, {
  extraInputs: [df.input.durableClient()],
  handler: (hub: string, context) => wakeHubApplier(df.getClient(context), hub),
});

app.timer("hubSchedulerKeepAlive", {
  schedule: "0 * * * * *",
  runOnStartup: true,
  extraInputs: [df.input.durableClient()],
  handler: async (_timer, context) => {
    const client = df.getClient(context);
    for (const hub of connectorApp().settings.hubs) {
      await wakeHubApplier(client, hub.name).catch((error: unknown) =>
        context.error(`keeping the applier of hub ${hub.name} alive: ${String(error)}`),
      );
    }
  },
});
