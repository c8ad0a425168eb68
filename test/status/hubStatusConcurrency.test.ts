// The eventHub trigger hands HubStatus one batch per partition at the same time. Whatever order the
// status table finishes the writes in, the stored fleet status must be the newest one computed.
import { setTimeout as sleep } from "node:timers/promises";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createHubClient } from "../../lib/hub/createHubClient.js";
import type { HubClient } from "../../lib/hub/hubClient.js";
import type { ReceivedEventLike } from "../../lib/hub/hubNotifications.js";
import type { RunningSimulator } from "../../dev/simulator/simulator.js";
import type { HubSchedulerView } from "../../lib/scheduler/schedulerContract.js";
import { HubStatus } from "../../lib/status/hubStatus.js";
import type { FleetStatus } from "../../lib/status/statusContract.js";
import { StatusStore } from "../../lib/status/statusStore.js";
import { LazyTable } from "../../lib/storage/lazyTable.js";
import { startLocalAzurite, type LocalAzurite } from "../../dev/localAzurite.js";
import { startTestSimulator } from "../support/testSimulator.js";

const configurationId = "c-pump";

/** The real table, with the first fleet status write held back as a slow request would be. */
class FirstFleetWriteLateStore extends StatusStore {
  private held = false;
  override async saveFleetStatuses(hub: string, statuses: readonly FleetStatus[]): Promise<void> {
    if (!this.held && statuses.some((status) => status.counts.offline > 0)) {
      this.held = true;
      await sleep(300);
    }
    await super.saveFleetStatuses(hub, statuses);
  }
}

function disconnected(hub: string, deviceId: string): ReceivedEventLike {
  return {
    body: { sequenceNumber: "0".repeat(63) + "9" },
    properties: {
      "iothub-message-schema": "deviceConnectionStateNotification",
      hubName: hub,
      deviceId,
      opType: "deviceDisconnected",
      operationTimestamp: new Date().toISOString(),
    },
  };
}

describe("HubStatus with batches of several partitions at once", { timeout: 60_000 }, () => {
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

  it("stores the newest fleet status even when an older batch's write finishes last", async () => {
    const hubName = simulator.hubName;
    const store = new FirstFleetWriteLateStore(
      LazyTable.fromConnectionString(azurite.connectionString, "connectorstatus"),
    );
    const status = await HubStatus.open({ hub: hubName, store, hubClient: () => hub });
    const view: HubSchedulerView = {
      hub: hubName,
      configurations: {
        [configurationId]: {
          id: configurationId,
          kind: "base",
          targetCondition: "tags.site = 'north'",
          priority: 10,
          modules: { pump: "pump" },
          images: { pump: "example/pump:1" },
          pods: ["default/pump/uid-1"],
          state: { phase: "OnHub" },
        },
      },
      deploymentsOnHub: 1,
      deploymentLimit: 100,
      counters: { creates: 1, deletes: 0, throttled: 0, coalesced: 0 },
    };
    await status.setConfigurations(view);

    // two partitions' batches at once: the first one's write is the slow one
    await Promise.all([
      status.processEvents([disconnected(hubName, "pump-1")]),
      status.processEvents([disconnected(hubName, "pump-2")]),
    ]);

    const [stored] = await store.allFleetStatuses(hubName);
    expect(stored?.counts.offline).toBe(2);
    expect(stored?.version).toBe(status.fleet.status(configurationId)?.version);
  });
});
