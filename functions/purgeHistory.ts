// A timer (PURGE_SCHEDULE) that purges the durable history of finished orchestrations
// (lib/app/purgeHistory.ts).
import { app } from "@azure/functions";
import * as df from "durable-functions";
import { timerSchedule } from "../lib/app/connectorApp.js";
import { purgeFinishedOrchestrations } from "../lib/app/purgeHistory.js";

function register(): void {
  const schedule = timerSchedule("purgeSchedule");
  if (schedule === undefined) return;
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
