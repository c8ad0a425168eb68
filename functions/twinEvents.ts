// The eventHub trigger on each hub's built-in endpoint (one function per hub in CONNECTOR_HUBS):
// twin change and connection state events move the device cache forward and the fleet status of
// every configuration they touch (lib/status/hubStatus.ts).
import { app, type InvocationContext } from "@azure/functions";
import * as df from "durable-functions";
import { appContext } from "../lib/app/appContext.js";
import { appSettingNames } from "../lib/app/settings.js";
import { redact } from "../lib/hub/redact.js";
import { hubSchedulerEntityName, type HubSchedulerView } from "../lib/scheduler/schedulerContract.js";
import { HubStatusRegistry } from "../lib/status/hubStatusRegistry.js";
import { eventsFromTrigger } from "../lib/status/readHubEvents.js";
import { StatusStore } from "../lib/status/statusStore.js";

let store: StatusStore | undefined;
function statusStore(): StatusStore {
  const connection = process.env[appSettingNames.storage];
  if (!connection)
    throw new Error(`app setting ${appSettingNames.storage} is required (the status table lives there)`);
  store ??= StatusStore.fromConnectionString(connection);
  return store;
}

export const hubStatuses = new HubStatusRegistry((hub) => ({
  hub,
  store: statusStore(),
  hubClient: () => appContext().hubClient(hub),
}));

/** The scheduler's view of the hub (its entity state contains it), undefined before its first operation. */
export async function schedulerView(
  context: InvocationContext,
  hub: string,
): Promise<HubSchedulerView | undefined> {
  const state = await df
    .getClient(context)
    .readEntityState<HubSchedulerView>(new df.EntityId(hubSchedulerEntityName, hub));
  return state.entityExists ? state.entityState : undefined;
}

async function handleBatch(hub: string, bodies: unknown[], context: InvocationContext): Promise<void> {
  try {
    const status = await hubStatuses.get(hub);
    await status.setConfigurations(await schedulerView(context, hub));
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
    hubs = appContext().settings.hubs;
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
