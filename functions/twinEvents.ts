// The eventHub trigger on each hub's built-in endpoint (one function per hub in CONNECTOR_HUBS):
// twin change and connection state events move the states of the partition's devices forward and
// the partition's parts of every fleet status they touch (lib/status/partitionStatus.ts). The host
// spreads the partitions over the app's instances. A batch that fails is retried (the host would
// otherwise move the checkpoint past it) after its partition's in-memory status was dropped (the
// hub's whole, when the failure was not the partition's own), so the retry starts again from what
// the table holds.
import { app, type InvocationContext } from "@azure/functions";
import * as df from "durable-functions";
import { connectorApp } from "../lib/app/connectorApp.js";
import { redact } from "../lib/hub/redact.js";
import { eventsFromTrigger, partitionIdFromTrigger } from "../lib/status/readHubEvents.js";

async function handleBatch(hub: string, bodies: unknown[], context: InvocationContext): Promise<void> {
  const connector = connectorApp();
  const partitionId = partitionIdFromTrigger(context.triggerMetadata);
  // The batch's events may come from a configuration wanted a moment ago: a view read before the
  // batch arrived may not have it, and no later event might come to correct the counts. The device
  // states are stored while it is read; the parts wait for it.
  const arrivedAt = Date.now();
  try {
    const view = connector.schedulerView(df.getClient(context), hub, { startedAfter: arrivedAt });
    const result = await connector.hubStatuses.use(hub, (status) =>
      status.processEvents(partitionId, eventsFromTrigger(bodies, context.triggerMetadata), view),
    );
    context.debug(
      `twin events on ${hub} partition ${partitionId}: ${bodies.length} events, ${result.notifications} notifications, ${result.malformed} malformed, ${result.changedDevices} devices and ${result.changedStatuses.length} fleet status parts changed`,
    );
  } catch (error) {
    // Rethrown so that the retry policy runs the batch again; the message never carries secrets.
    context.error(
      `twin events on ${hub} partition ${partitionId} failed (${context.retryContext ? `retry ${context.retryContext.retryCount}` : "first attempt"}): ${redact(error instanceof Error ? error.message : String(error))}`,
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
      // Without a retry policy the host drops a batch whose function throws. Status must not lose
      // events: retry until it works (a partition waits meanwhile), backing off to a minute.
      retry: {
        strategy: "exponentialBackoff",
        maxRetryCount: -1,
        minimumInterval: { seconds: 1 },
        maximumInterval: { minutes: 1 },
      },
      extraInputs: [df.input.durableClient()],
      handler: (bodies, context) => handleBatch(hub.name, bodies as unknown[], context),
    });
  }
}

register();
