// A timer (RECONCILE_SCHEDULE) that cross-checks each hub's stored fleet statuses with the hub's
// own configuration metrics (one list call) and, when they have disagreed for long, reads the hub's
// twins again (lib/status/metricsReconcile.ts). The first run on a new hub also fills its device
// states, so that node conditions have device counts before any device event.
import { app, type InvocationContext } from "@azure/functions";
import * as df from "durable-functions";
import { connectorApp } from "../lib/app/connectorApp.js";
import { readSchedulerView } from "../lib/app/durableWorkflows.js";
import { redact } from "../lib/hub/redact.js";
import { reconcileWithHubMetrics } from "../lib/status/metricsReconcile.js";

async function reconcile(context: InvocationContext): Promise<void> {
  const app = connectorApp();
  for (const { name: hub } of app.settings.hubs) {
    try {
      const view = await readSchedulerView(df.getClient(context), hub);
      const result = await app.hubStatuses.use(hub, async (status) => {
        await status.setConfigurations(view);
        return reconcileWithHubMetrics(status, app.hubClient(hub), new Date());
      });
      context.log(
        `status reconcile on ${hub}: ${result.compared} compared, ${result.disagreeing.length} disagreeing${result.disagreeing.length > 0 ? ` (${result.disagreeing.join(", ")})` : ""}${result.refilled ? ", device states read again from the hub" : ""}`,
      );
    } catch (error) {
      // One hub's failure does not stop the others; the next run tries again.
      context.error(
        `status reconcile on ${hub} failed: ${redact(error instanceof Error ? error.message : String(error))}`,
      );
    }
  }
}

function register(): void {
  let schedule: string;
  try {
    schedule = connectorApp().settings.reconcileSchedule;
  } catch {
    return; // twinEvents.ts reports the settings problem
  }
  app.timer("statusReconcile", {
    schedule,
    extraInputs: [df.input.durableClient()],
    handler: (_timer, context) => reconcile(context),
  });
}

register();
