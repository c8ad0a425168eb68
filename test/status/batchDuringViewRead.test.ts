// A twin-events batch needs a scheduler view read after it arrived, and that read takes a while. The
// batch's device states do not depend on the view: their journal entry is stored while the view is
// read, and only the fleet status parts (and the partition row naming the entry) wait for it. The
// parts then count the devices against the configurations of that view.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startLocalAzurite, type LocalAzurite } from "../../dev/localAzurite.js";
import type { RunningSimulator } from "../../dev/simulator/simulator.js";
import { createHubClient } from "../../lib/hub/createHubClient.js";
import type { HubClient } from "../../lib/hub/hubClient.js";
import type { ReceivedEventLike } from "../../lib/hub/hubNotifications.js";
import type { HubSchedulerView, ManagedConfiguration } from "../../lib/scheduler/schedulerContract.js";
import { HubStatus } from "../../lib/status/hubStatus.js";
import { StatusStore, type DeviceRecord, type StoredRecords } from "../../lib/status/statusStore.js";
import { LazyTable } from "../../lib/storage/lazyTable.js";
import { schedulerView } from "../support/schedulerViewSeed.js";
import { startTestSimulator } from "../support/testSimulator.js";

const pump: ManagedConfiguration = {
  id: "c-pump",
  kind: "base",
  targetCondition: "tags.site = 'north'",
  priority: 10,
  modules: { pump: "pump" },
  images: { pump: "example/pump:1" },
  pods: ["default/pump/uid-1"],
  state: { phase: "OnHub" },
};

function disconnected(hub: string, deviceId: string): ReceivedEventLike {
  return {
    body: { sequenceNumber: "9".repeat(64) },
    properties: {
      "iothub-message-schema": "deviceConnectionStateNotification",
      hubName: hub,
      deviceId,
      opType: "deviceDisconnected",
      operationTimestamp: new Date().toISOString(),
    },
  };
}

/** The real table; the seam: tells when a journal entry was stored. */
class JournalWatchingStore extends StatusStore {
  onAppend: (() => void) | undefined;
  override async appendJournal(
    hub: string,
    partitionId: string,
    serial: number,
    records: readonly DeviceRecord[],
  ): Promise<StoredRecords> {
    const stored = await super.appendJournal(hub, partitionId, serial, records);
    this.onAppend?.();
    return stored;
  }
}

describe("a batch while its scheduler view is read", { timeout: 60_000 }, () => {
  let azurite: LocalAzurite;
  let simulator: RunningSimulator;
  let hub: HubClient;
  let store: JournalWatchingStore;

  beforeAll(async () => {
    [azurite, simulator] = await Promise.all([
      startLocalAzurite(),
      startTestSimulator({
        devices: ["pump-1", "pump-2"].map((deviceId) => ({ deviceId, tags: { site: "north" } })),
      }),
    ]);
    hub = createHubClient(simulator.iotHubConnectionString);
    store = new JournalWatchingStore(
      LazyTable.fromConnectionString(azurite.connectionString, "connectorstatus"),
    );
  });

  afterAll(async () => {
    hub?.close();
    await simulator?.stop();
    await azurite?.stop();
  });

  it("stores the devices' states before the view arrives, and counts them against that view", async () => {
    const hubName = simulator.hubName;
    const status = await HubStatus.open({ hub: hubName, store, hubClient: () => hub });
    await status.setConfigurations({ ...schedulerView(hubName, []), revision: 1 });

    // The view is answered only once the batch's journal entry is stored: a batch that waited for
    // the view first would never finish (the test's timeout fails it).
    const view = new Promise<HubSchedulerView>((resolve) => {
      store.onAppend = () => resolve({ ...schedulerView(hubName, [pump]), revision: 2 });
    });
    const result = await status.processEvents("0", [disconnected(hubName, "pump-1")], view);

    expect(result.changedDevices).toBe(1);
    const stored = (await store.fleetStatuses(hubName, [pump.id])).get(pump.id);
    expect(stored?.counts).toMatchObject({ targeted: 2, offline: 1 });
    // the row names the entry: another instance loading the partition has pump-1 disconnected
    const other = await HubStatus.open({ hub: hubName, store, hubClient: () => hub });
    await other.setConfigurations({ ...schedulerView(hubName, [pump]), revision: 2 });
    await other.processEvents("0", []);
    expect(await store.deviceCounts(hubName)).toEqual({ total: 2, connected: 1 });
  });
});
