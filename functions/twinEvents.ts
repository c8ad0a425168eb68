// The eventHub trigger on each hub's built-in endpoint (one function per hub in CONNECTOR_HUBS):
// twin change and connection state events move the device cache forward and the fleet status of
// every configuration they touch (lib/status/hubStatus.ts).
import { app, type InvocationContext } from "@azure/functions";
import * as df from "durable-functions";
import { connectorApp } from "../lib/app/connectorApp.js";
import { readSchedulerView } from "../lib/app/durableWorkflows.js";
import { redact } from "../lib/hub/redact.js";
import { eventsFromTrigger } from "../lib/status/readHubEvents.js";

async function handleBatch(hub: string, bodies: unknown[], context: InvocationContext): Promise<void> {
  try {
    const status = await connectorApp().hubStatuses.get(hub);
    await status.setConfigurations(await readSchedulerView(df.getClient(context), hub));
    const result = await status.processEvents(eventsFromTrigger(bodies, context.triggerMetadata));
    context.debug(
      `twin events on ${hub}: ${bodies.length} events, ${result.notifications} notifications, ${result.malformed} malformed, ${result.changedDevices} devices and ${result.changedStatuses.length} fleet statuses changed`,
    );
  } catch (error) {
    // Rethrown so the batch is retried (checkpoint not moved); the message never carries secrets.
    context.error(
      `twin events on ${hub} failed: ${redact(error instanceof Error ? error.message : String(error))}`,
    );
    throw error;
  }
}

function register(): void {
  let hubs;
  try {
    hubs = connectorApp().settings.hubs;
  } catch (error) {
    // Every other function reports the same settings problem on each invocation.
    console.error(
      `twinEvents: no trigger registered: ${error instanceof Error ? error.message : String(error)}`,
    );
    return;
  }
  for (const hub of hubs) {
    app.eventHub(`twinEvents-${hub.name}`, {
      connection: hub.eventsConnectionSetting,
      eventHubName: hub.eventsName,
      consumerGroup: hub.consumerGroup,
      cardinality: "many",
      extraInputs: [df.input.durableClient()],
      handler: (bodies, context) => handleBatch(hub.name, bodies as unknown[], context),
    });
  }
}

register();
