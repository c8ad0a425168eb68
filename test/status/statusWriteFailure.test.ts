// A table write fails in the middle of a batch (the journal entry stored, the partition's row not):
// the twin-events trigger's retry must not find the batch "already applied" in memory. The hub's
// status is dropped and loaded again from the table, the retried batch is applied to what is
// stored, and the stored counts end equal to the truth from the simulator's twins.
import { EventHubConsumerClient, earliestEventPosition } from "@azure/event-hubs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { HubStatusRegistry } from "../../lib/status/hubStatusRegistry.js";
import type { FleetCounts } from "../../lib/status/statusContract.js";
import { StatusStore, type PartitionRow } from "../../lib/status/statusStore.js";
import { LazyTable } from "../../lib/storage/lazyTable.js";
import { baseDeployment } from "../support/deployments.js";
import { fleetTruth } from "../support/fleetTruth.js";
import { schedulerView } from "../support/schedulerViewSeed.js";
import { eventually } from "../support/testSimulator.js";
import { northConfiguration, useStatusStack } from "./support/statusStack.js";

const configuration = { id: "c-fan", site: "north", modules: ["fan"] };
const deviceIds = ["fan-1", "fan-2", "fan-3", "fan-4", "fan-5", "fan-6"];
const managed = northConfiguration(configuration.id, "fan");

/** The real table; the seam: the next partition row write fails after the batch's journal entry was stored. */
class RowWriteFailingStore extends StatusStore {
  armed = false;
  failures = 0;
  override async writePartitionRow(
    hub: string,
    row: PartitionRow,
    etag: string | undefined,
  ): Promise<string> {
    if (this.armed && row.journal.length > 0) {
      this.armed = false;
      this.failures += 1;
      throw new Error("injected: the status table refused the write");
    }
    return super.writePartitionRow(hub, row, etag);
  }
}

describe("a status table write failing mid-batch", { timeout: 90_000 }, () => {
  const stack = useStatusStack(deviceIds);
  let consumer: EventHubConsumerClient;

  beforeAll(() => {
    consumer = new EventHubConsumerClient("$Default", stack.simulator.eventHubConnectionString);
  });

  afterAll(async () => {
    await consumer?.close();
  });

  it("converges to the truth after the trigger retries the batch", async () => {
    const { azurite, simulator, hub } = stack;
    const hubName = simulator.hubName;
    const store = new RowWriteFailingStore(
      LazyTable.fromConnectionString(azurite.connectionString, "connectorstatus"),
    );
    const registry = new HubStatusRegistry((name) => ({ hub: name, store, hubClient: () => hub }));
    // As functions/twinEvents.ts with its retry policy: a failed batch runs again until it succeeds.
    const subscription = consumer.subscribe(
      {
        processEvents: async (events, context) => {
          for (let attempt = 0; ; attempt += 1) {
            try {
              await registry.use(hubName, async (status) => {
                await status.setConfigurations(schedulerView(hubName, [managed]));
                return status.processEvents(context.partitionId, events);
              });
              return;
            } catch (error) {
              if (attempt >= 5) throw error;
              await new Promise((resolve) => setTimeout(resolve, 50));
            }
          }
        },
        processError: () => Promise.resolve(),
      },
      { startPosition: earliestEventPosition, maxWaitTimeInSeconds: 0.2 },
    );
    try {
      const deployment = baseDeployment(configuration.id, {
        targetCondition: managed.targetCondition,
        modules: { fan: { image: "example/fan:1", restartPolicy: "never" } },
      });
      await hub.createConfiguration({
        id: configuration.id,
        content: deployment.content ?? {},
        targetCondition: managed.targetCondition,
        priority: 10,
      });
      await simulator.fleet.evaluateNow();
      const stored = async (): Promise<FleetCounts | undefined> =>
        (await store.fleetStatuses(hubName, [configuration.id])).get(configuration.id)?.counts;
      await eventually(stored, (counts) => counts?.running === deviceIds.length, {
        attempts: 300,
        intervalMs: 50,
      });

      // The crash reports arrive in batches; the first one's row write fails.
      store.armed = true;
      for (const deviceId of deviceIds.slice(0, 3)) simulator.fleet.injectFault(deviceId, "fan", "crash");
      simulator.fleet.setOnline("fan-6", false);
      const expected = await eventually(
        () => fleetTruth(simulator, deviceIds, configuration),
        (truth) => truth.failed === 3 && truth.offline === 1,
        { attempts: 200, intervalMs: 50 },
      );
      const counts = await eventually(stored, (now) => JSON.stringify(now) === JSON.stringify(expected), {
        attempts: 200,
        intervalMs: 50,
      }).catch(() => stored());
      expect(counts).toEqual(expected);
      expect(store.failures).toBe(1);
    } finally {
      await subscription.close();
    }
  });
});
