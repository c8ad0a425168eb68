// Gives the app's hub scheduler entity a state without running the scheduler: the status pipeline
// reads its managed configurations (HubSchedulerView) through the durable client, so status tests
// and benchmarks that create their configurations on the hub directly write the view it would hold.
import { entitySchedulerId } from "../../dev/host/durable/durableMessages.js";
import type { EntityRecord } from "../../dev/host/durable/entityExecutor.js";
import { TaskHubStorage } from "../../dev/host/durable/taskHubStorage.js";
import {
  hubSchedulerEntityName,
  type HubSchedulerView,
  type ManagedConfiguration,
} from "../../lib/scheduler/schedulerContract.js";

/** The app's task hub (host.json extensions.durableTask.hubName). */
const appTaskHub = "IotEdgeConnector";

export function schedulerView(hub: string, configurations: ManagedConfiguration[]): HubSchedulerView {
  return {
    hub,
    configurations: Object.fromEntries(configurations.map((c) => [c.id, c])),
    deploymentsOnHub: configurations.length,
    deploymentLimit: 100,
    counters: { creates: configurations.length, deletes: 0, throttled: 0, coalesced: 0 },
  };
}

export async function seedSchedulerView(
  storageConnectionString: string,
  view: HubSchedulerView,
): Promise<void> {
  const storage = new TaskHubStorage(storageConnectionString, appTaskHub);
  await storage.createIfMissing();
  const id = entitySchedulerId(hubSchedulerEntityName, view.hub);
  const existing = await storage.read<EntityRecord>("entities", id);
  const record: EntityRecord = { exists: true, state: JSON.stringify(view), recent: [] };
  await storage.write("entities", id, record, existing?.etag);
}
