// The per-hub applier orchestration and its activities (lib/scheduler/applierOrchestration.ts), the
// orchestration through which clients call the scheduler, and a timer that keeps every hub's applier alive.
import { app } from "@azure/functions";
import * as df from "durable-functions";
import { connectorApp } from "../lib/app/connectorApp.js";
import type { HubAction, PendingNotification } from "../lib/scheduler/applierProtocol.js";
import {
  applierActivityNames,
  hubApplierOrchestrator,
  notifyActivity,
  runActionActivity,
} from "../lib/scheduler/applierOrchestration.js";
import { applierOrchestrationName, wakeHubApplier } from "../lib/scheduler/applierWake.js";
import {
  schedulerCallOrchestrationName,
  schedulerCallOrchestrator,
} from "../lib/scheduler/schedulerCalls.js";

df.app.orchestration(applierOrchestrationName, hubApplierOrchestrator);
df.app.orchestration(schedulerCallOrchestrationName, schedulerCallOrchestrator);

df.app.activity(applierActivityNames.runAction, {
  handler: (input: { hub: string; action: HubAction }) =>
    runActionActivity(input, (hub) => connectorApp().hubConnector(hub)),
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
