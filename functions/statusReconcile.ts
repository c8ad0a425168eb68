// A timer (RECONCILE_SCHEDULE) that cross-checks each hub's stored fleet statuses with the hub's
// own configuration metrics (one list call) and, when they have disagreed for long, reads the hub's
// twins again (lib/status/metricsReconcile.ts). The first run on a new hub also fills its device
// states, so that node conditions have device counts before any device event, and writes the
// rollout bucket tag of a bounded number of devices that lack it (one twin query page:
// lib/status/rolloutBucketTagger.ts).
import { app, type InvocationContext } from "@azure/functions";
import * as df from "durable-functions";
import { connectorApp, timerSchedule } from "../lib/app/connectorApp.js";
import { readSchedulerView } from "../lib/app/durableWorkflows.js";
import { forEachHub } from "../lib/app/forEachHub.js";
import { reconcileWithHubMetrics } from "../lib/status/metricsReconcile.js";

async function reconcile(context: InvocationContext): Promise<void> {
  const app = connectorApp();
  await forEachHub(app.settings.hubs, "status reconcile", context, async (hub) => {
    const client = df.getClient(context);
    const view = await readSchedulerView(client, hub);
    const result = await app.hubStatuses.use(hub, async (status) => {
      await status.setConfigurations(view);
      const reconciled = await reconcileWithHubMetrics(status, app.hubClient(hub), new Date());
      return { ...reconciled, bucketed: await status.bucketQuietDevices() };
    });
    // its configuration list (and anything else this process sent outside the scheduler) is the scheduler's budget too
    const charged = await app.chargeOutsideOperations(client, hub);
    const disagreeing = result.disagreeing.length > 0 ? ` (${result.disagreeing.join(", ")})` : "";
    return `${result.compared} compared, ${result.disagreeing.length} disagreeing${disagreeing}${result.refilled ? ", device states read again from the hub" : ""}, ${result.bucketed} rollout buckets written, ${charged} configuration operations charged to the scheduler`;
  });
}

function register(): void {
  const schedule = timerSchedule("reconcileSchedule");
  if (schedule === undefined) return;
  app.timer("statusReconcile", {
    schedule,
    extraInputs: [df.input.durableClient()],
    handler: (_timer, context) => reconcile(context),
  });
}

register();
