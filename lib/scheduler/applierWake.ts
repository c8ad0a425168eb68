// Wakes a hub's applier orchestration, starting it when it does not run. Entities cannot start
// orchestrations or raise events, so whoever changed the scheduler's work (a pod orchestration
// through an activity, the keep-alive timer) does this with a durable client.
import { applierInstanceId, applierWakeEventName } from "./applierProtocol.js";

export const applierOrchestrationName = "hubSchedulerApplier";

/** The part of durable-functions' DurableClient this needs. */
export interface ApplierClient {
  getStatus(instanceId: string): Promise<{ runtimeStatus?: string }>;
  startNew(name: string, options: { instanceId: string; input: unknown }): Promise<string>;
  raiseEvent(instanceId: string, eventName: string, eventData: unknown): Promise<void>;
}

const alive = new Set(["Running", "Pending", "ContinuedAsNew"]);

/** Returns what it did: "woken" (it was running) or "started". */
export async function wakeHubApplier(client: ApplierClient, hub: string): Promise<"woken" | "started"> {
  const instanceId = applierInstanceId(hub);
  const status = await client.getStatus(instanceId).catch(() => undefined);
  if (status?.runtimeStatus !== undefined && alive.has(status.runtimeStatus)) {
    await client.raiseEvent(instanceId, applierWakeEventName, null);
    return "woken";
  }
  try {
    await client.startNew(applierOrchestrationName, { instanceId, input: hub });
    return "started";
  } catch (error) {
    // Another caller started it in between (409): waking it is enough.
    await client.raiseEvent(instanceId, applierWakeEventName, null).catch(() => {
      throw error;
    });
    return "woken";
  }
}
