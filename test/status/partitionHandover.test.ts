// A partition moves between app instances: the one that lost it may still hold it in memory and
// write once more. Its write must be refused (the row's ETag changed), and after it drops its memory
// and loads again it must carry on from what the new owner stored, so no status goes backwards.
import { describe, expect, it } from "vitest";
import type { ReceivedEventLike } from "../../lib/hub/hubNotifications.js";
import { HubStatusRegistry } from "../../lib/status/hubStatusRegistry.js";
import { StatusConflict, StatusStore, statusTableName } from "../../lib/status/statusStore.js";
import { LazyTable } from "../../lib/storage/lazyTable.js";
import { schedulerView } from "../support/schedulerViewSeed.js";
import type { HubSchedulerView } from "../../lib/scheduler/schedulerContract.js";
import { connectionEvent, northConfiguration, useStatusStack } from "./support/statusStack.js";

const configurationId = "c-pump";
const pump = northConfiguration(configurationId, "pump");

describe("a partition handed from one app instance to another", { timeout: 60_000 }, () => {
  const stack = useStatusStack(["pump-1", "pump-2"]);
  /** The table, and an app instance's status pipeline over it. */
  const store = () => StatusStore.fromConnectionString(stack.azurite.connectionString);
  const instance = () =>
    new HubStatusRegistry((name) => ({ hub: name, store: store(), hubClient: () => stack.hub }));

  it("refuses the old owner's write, which then loads the partition again and carries on from the new owner's", async () => {
    const hubName = stack.simulator.hubName;
    const [first, second] = [instance(), instance()];
    const table = store();
    const batch = (registry: HubStatusRegistry, events: ReceivedEventLike[]) =>
      registry.use(hubName, async (status) => {
        await status.setConfigurations(schedulerView(hubName, [pump]));
        return status.processEvents("0", events);
      });
    const offline = async () =>
      (await table.fleetStatuses(hubName, [configurationId])).get(configurationId)!.counts.offline;

    await batch(first, [connectionEvent(hubName, "pump-1", false, 10)]);
    expect(await offline()).toBe(1);
    // The partition moves: the second instance reads it from the table and goes on.
    await batch(second, [connectionEvent(hubName, "pump-2", false, 11)]);
    const afterHandover = (await table.fleetStatuses(hubName, [configurationId])).get(configurationId)!;
    expect(afterHandover.counts.offline).toBe(2);

    // The first instance, unaware, writes a batch the second already handled: refused.
    await expect(batch(first, [connectionEvent(hubName, "pump-1", true, 12)])).rejects.toBeInstanceOf(
      StatusConflict,
    );
    expect(await offline()).toBe(2);
    // Its retry loads the partition again: pump-2's disconnection is kept, pump-1's reconnection added.
    await batch(first, [connectionEvent(hubName, "pump-1", true, 12)]);
    const retried = (await table.fleetStatuses(hubName, [configurationId])).get(configurationId)!;
    expect(retried.counts.offline).toBe(1);
    expect(retried.version).toBeGreaterThan(afterHandover.version);
  });

  it("lets a partition that moved away go when the configurations change, and still stores its own batch", async () => {
    const hubName = stack.simulator.hubName;
    const [first, second] = [instance(), instance()];
    const table = store();
    const batch = (
      registry: HubStatusRegistry,
      partitionId: string,
      view: HubSchedulerView,
      events: ReceivedEventLike[],
    ) =>
      registry.use(hubName, async (status) => {
        await status.setConfigurations(view);
        return status.processEvents(partitionId, events);
      });
    const before = schedulerView(hubName, [pump]);
    const valve = northConfiguration("c-valve", "valve");
    const after = schedulerView(hubName, [pump, valve]);

    await batch(first, "2", before, [connectionEvent(hubName, "pump-1", false, 20)]);
    await batch(first, "3", before, [connectionEvent(hubName, "pump-2", false, 21)]);
    // partition 3 moves to the second instance, which writes its row
    await batch(second, "3", before, [connectionEvent(hubName, "pump-2", true, 22)]);
    const movedRow = await table.readPartitionRow(hubName, "3");

    // A configuration comes with the first instance's next batch, on the partition it still reads:
    // the row of partition 3, which it holds from before, is the second instance's to write now.
    await batch(first, "2", after, [connectionEvent(hubName, "pump-1", true, 23)]);
    expect((await table.readPartitionRow(hubName, "2"))?.value.statuses[valve.id]).toBeDefined();
    expect((await table.readPartitionRow(hubName, "3"))?.etag).toBe(movedRow?.etag);

    // the second instance goes on with partition 3 unhindered, and counts the new configuration there
    await batch(second, "3", after, [connectionEvent(hubName, "pump-2", false, 24)]);
    expect((await table.readPartitionRow(hubName, "3"))?.value.statuses[valve.id]).toBeDefined();
  });

  it("loads again only the partition whose batch failed, not the others the instance reads", async () => {
    const hubName = stack.simulator.hubName;
    const reads: string[] = [];
    /** The table, noting which rows the first instance reads. */
    class ReadCountingStore extends StatusStore {
      override readPartitionRow(hub: string, partitionId: string) {
        reads.push(`partition ${partitionId}`);
        return super.readPartitionRow(hub, partitionId);
      }
      override readFillRow(hub: string) {
        reads.push("fill");
        return super.readFillRow(hub);
      }
    }
    const counted = new ReadCountingStore(
      LazyTable.fromConnectionString(stack.azurite.connectionString, statusTableName),
    );
    const first = new HubStatusRegistry((name) => ({
      hub: name,
      store: counted,
      hubClient: () => stack.hub,
    }));
    const second = instance();
    const view = schedulerView(hubName, [pump]);
    const batch = (registry: HubStatusRegistry, partitionId: string, events: ReceivedEventLike[]) =>
      registry.use(hubName, async (status) => {
        await status.setConfigurations(view);
        return status.processEvents(partitionId, events);
      });

    await batch(first, "0", [connectionEvent(hubName, "pump-1", false, 30)]);
    await batch(first, "1", [connectionEvent(hubName, "pump-2", false, 31)]);
    // partition 1 moves to the second instance; the first's next batch there is refused
    await batch(second, "1", [connectionEvent(hubName, "pump-2", true, 32)]);
    await expect(batch(first, "1", [connectionEvent(hubName, "pump-2", true, 32)])).rejects.toBeInstanceOf(
      StatusConflict,
    );

    reads.length = 0;
    await batch(first, "0", [connectionEvent(hubName, "pump-1", true, 33)]);
    expect(reads).toEqual([]);
    // the failed partition itself is read again at its next batch (the retry), which is stored
    const table = store();
    const moved = await table.readPartitionRow(hubName, "1");
    await batch(first, "1", [connectionEvent(hubName, "pump-2", false, 34)]);
    expect(reads).toEqual(["partition 1"]);
    expect((await table.readPartitionRow(hubName, "1"))?.etag).not.toBe(moved?.etag);
  });
});
