// A timer (RECONCILE_SCHEDULE, beside the status reconcile) that releases, on each hub, what pods
// whose orchestration ended early still hold on a configuration (lib/provider/configurationSweep.ts).
import { app, type InvocationContext } from "@azure/functions";
import * as df from "durable-functions";
import { connectorApp, timerSchedule } from "../lib/app/connectorApp.js";
import { durableWorkflows, readSchedulerView, releaseThroughScheduler } from "../lib/app/durableWorkflows.js";
import { forEachHub } from "../lib/app/forEachHub.js";
import { sweepConfigurations } from "../lib/provider/configurationSweep.js";

async function sweep(context: InvocationContext): Promise<void> {
  const connector = connectorApp();
  const client = df.getClient(context);
  const workflows = durableWorkflows(client, connector.taskHubBacklog);
  await forEachHub(connector.settings.hubs, "configuration sweep", context, async (hub) => {
    const { released } = await sweepConfigurations({
      hub,
      readView: () => readSchedulerView(client, hub),
      listRecords: () => connector.records.listHub(hub),
      isRunning: (instanceId) => workflows.isRunning(instanceId),
      release: (request) => releaseThroughScheduler(client, hub, request),
    });
    const list = released.map((hold) => `${hold.pod} on ${hold.configurationId}`).join(", ");
    return `${released.length} holds released${list ? `: ${list}` : ""}`;
  });
}

function register(): void {
  const schedule = timerSchedule("reconcileSchedule");
  if (schedule === undefined) return;
  app.timer("configurationSweep", {
    schedule,
    extraInputs: [df.input.durableClient()],
    handler: (_timer, context) => sweep(context),
  });
}

register();
