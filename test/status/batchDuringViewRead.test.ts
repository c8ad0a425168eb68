// A twin-events batch needs a scheduler view read after it arrived, and that read takes a while. The
// batch's device states do not depend on the view: their journal entry is stored while the view is
// read, and only the fleet status parts (and the partition row naming the entry) wait for it. The
// parts then count the devices against the configurations of that view.
import { beforeAll, describe, expect, it } from "vitest";
import type { HubSchedulerView } from "../../lib/scheduler/schedulerContract.js";
import { HubStatus } from "../../lib/status/hubStatus.js";
import { StatusStore, type DeviceRecord, type StoredRecords } from "../../lib/status/statusStore.js";
import { LazyTable } from "../../lib/storage/lazyTable.js";
import { schedulerView } from "../support/schedulerViewSeed.js";
import { connectionEvent, northConfiguration, useStatusStack } from "./support/statusStack.js";

const pump = northConfiguration("c-pump", "pump");

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
  const stack = useStatusStack(["pump-1", "pump-2"]);
  let store: JournalWatchingStore;

  beforeAll(() => {
    store = new JournalWatchingStore(
      LazyTable.fromConnectionString(stack.azurite.connectionString, "connectorstatus"),
    );
  });

  it("stores the devices' states before the view arrives, and counts them against that view", async () => {
    const { simulator, hub } = stack;
    const hubName = simulator.hubName;
    const status = await HubStatus.open({ hub: hubName, store, hubClient: () => hub });
    await status.setConfigurations({ ...schedulerView(hubName, []), revision: 1 });

    // The view is answered only once the batch's journal entry is stored: a batch that waited for
    // the view first would never finish (the test's timeout fails it).
    const view = new Promise<HubSchedulerView>((resolve) => {
      store.onAppend = () => resolve({ ...schedulerView(hubName, [pump]), revision: 2 });
    });
    const result = await status.processEvents("0", [connectionEvent(hubName, "pump-1", false, 1)], view);

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
