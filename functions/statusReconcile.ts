// A timer (RECONCILE_SCHEDULE) that cross-checks each hub's fleet statuses with the hub's own
// configuration metrics (one list call) and reads again, within a budget, the devices the cache
// may have wrong (lib/status/metricsReconcile.ts).
import { app, type InvocationContext } from "@azure/functions";
import * as df from "durable-functions";
import { connectorApp } from "../lib/app/connectorApp.js";
import { accountHubOperations, readSchedulerView } from "../lib/app/durableWorkflows.js";
import { redact } from "../lib/hub/redact.js";
import { reconcileWithHubMetrics } from "../lib/status/metricsReconcile.js";

async function reconcile(context: InvocationContext): Promise<void> {
  const app = connectorApp();
  for (const { name: hub } of app.settings.hubs) {
    try {
      const status = await app.hubStatuses.get(hub);
      await status.setConfigurations(await readSchedulerView(df.getClient(context), hub));
      const result = await reconcileWithHubMetrics(status, app.hubClient(hub), new Date());
      // its list call spent the hub's configuration budget, which the scheduler plans
      await accountHubOperations(df.getClient(context), hub, app.traffic(hub));
      context.log(
        `status reconcile on ${hub}: ${result.compared} compared, ${result.disagreeing} disagreeing, ${result.refreshed} devices read again, ${result.queries} queries, hub metrics used for ${result.fromHubMetrics.length}`,
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
