// A timer (PURGE_SCHEDULE) that purges the durable history of finished orchestrations
// (lib/app/purgeHistory.ts).
import { app } from "@azure/functions";
import * as df from "durable-functions";
import { connectorApp } from "../lib/app/connectorApp.js";
import { purgeFinishedOrchestrations } from "../lib/app/purgeHistory.js";

function register(): void {
  let schedule: string;
  try {
    schedule = connectorApp().settings.purgeSchedule;
  } catch {
    return; // twinEvents.ts reports the settings problem
  }
  app.timer("purgeFinishedOrchestrations", {
    schedule,
    extraInputs: [df.input.durableClient()],
    handler: async (_timer, context) => {
      const purged = await purgeFinishedOrchestrations(df.getClient(context), new Date());
      if (purged > 0) context.log(`purged the history of ${purged} finished orchestrations`);
    },
  });
}

register();
