// A partition moves between app instances: the one that lost it may still hold it in memory and
// write once more. Its write must be refused (the row's ETag changed), and after it drops its memory
// and loads again it must carry on from what the new owner stored, so no status goes backwards.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createHubClient } from "../../lib/hub/createHubClient.js";
import type { HubClient } from "../../lib/hub/hubClient.js";
import type { ReceivedEventLike } from "../../lib/hub/hubNotifications.js";
import type { RunningSimulator } from "../../dev/simulator/simulator.js";
import type { ManagedConfiguration } from "../../lib/scheduler/schedulerContract.js";
import { HubStatusRegistry } from "../../lib/status/hubStatusRegistry.js";
import { StatusConflict, StatusStore } from "../../lib/status/statusStore.js";
import { startLocalAzurite, type LocalAzurite } from "../../dev/localAzurite.js";
import { schedulerView } from "../support/schedulerViewSeed.js";
import { startTestSimulator } from "../support/testSimulator.js";

const configurationId = "c-pump";
const pump: ManagedConfiguration = {
  id: configurationId,
  kind: "base",
  targetCondition: "tags.site = 'north'",
  priority: 10,
  modules: { pump: "pump" },
  images: { pump: "example/pump:1" },
  pods: ["default/pump/uid-1"],
  state: { phase: "OnHub" },
};

function connection(hub: string, deviceId: string, connected: boolean, sequence: number): ReceivedEventLike {
  return {
    body: { sequenceNumber: String(sequence).padStart(64, "0") },
    properties: {
      "iothub-message-schema": "deviceConnectionStateNotification",
      hubName: hub,
      deviceId,
      opType: connected ? "deviceConnected" : "deviceDisconnected",
      operationTimestamp: new Date().toISOString(),
    },
  };
}

describe("a partition handed from one app instance to another", { timeout: 60_000 }, () => {
  let azurite: LocalAzurite;
  let simulator: RunningSimulator;
  let hub: HubClient;

  beforeAll(async () => {
    [azurite, simulator] = await Promise.all([
      startLocalAzurite(),
      startTestSimulator({
        devices: ["pump-1", "pump-2"].map((deviceId) => ({ deviceId, tags: { site: "north" } })),
      }),
    ]);
    hub = createHubClient(simulator.iotHubConnectionString);
  });

  afterAll(async () => {
    hub?.close();
    await simulator?.stop();
    await azurite?.stop();
  });

  it("refuses the old owner's write, which then loads the partition again and carries on from the new owner's", async () => {
    const hubName = simulator.hubName;
    const store = StatusStore.fromConnectionString(azurite.connectionString);
    const instance = () => new HubStatusRegistry((name) => ({ hub: name, store, hubClient: () => hub }));
    const [first, second] = [instance(), instance()];
    const batch = (registry: HubStatusRegistry, events: ReceivedEventLike[]) =>
      registry.use(hubName, async (status) => {
        await status.setConfigurations(schedulerView(hubName, [pump]));
        return status.processEvents("0", events);
      });
    const offline = async () =>
      (await store.fleetStatuses(hubName, [configurationId])).get(configurationId)!.counts.offline;

    await batch(first, [connection(hubName, "pump-1", false, 10)]);
    expect(await offline()).toBe(1);
    // The partition moves: the second instance reads it from the table and goes on.
    await batch(second, [connection(hubName, "pump-2", false, 11)]);
    const afterHandover = (await store.fleetStatuses(hubName, [configurationId])).get(configurationId)!;
    expect(afterHandover.counts.offline).toBe(2);

    // The first instance, unaware, writes a batch the second already handled: refused.
    await expect(batch(first, [connection(hubName, "pump-1", true, 12)])).rejects.toBeInstanceOf(
      StatusConflict,
    );
    expect(await offline()).toBe(2);
    // Its retry loads the partition again: pump-2's disconnection is kept, pump-1's reconnection added.
    await batch(first, [connection(hubName, "pump-1", true, 12)]);
    const retried = (await store.fleetStatuses(hubName, [configurationId])).get(configurationId)!;
    expect(retried.counts.offline).toBe(1);
    expect(retried.version).toBeGreaterThan(afterHandover.version);
  });
});
