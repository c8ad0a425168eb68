// The reconcile timer's logic against the simulator's real configuration metrics. The pipeline here
// hears only the events the test hands it, so it drifts from the hub exactly as one that lost events
// would; the repair reads the hub's twins again and moves the stored partitions onto them.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createHubClient } from "../../lib/hub/createHubClient.js";
import type { HubClient } from "../../lib/hub/hubClient.js";
import type { ReceivedEventLike } from "../../lib/hub/hubNotifications.js";
import type { ManagedConfiguration } from "../../lib/scheduler/schedulerContract.js";
import type { RunningSimulator } from "../../dev/simulator/simulator.js";
import { HubStatus } from "../../lib/status/hubStatus.js";
import { metricDisagreements, reconcileWithHubMetrics } from "../../lib/status/metricsReconcile.js";
import type { FleetStatus } from "../../lib/status/statusContract.js";
import { StatusStore } from "../../lib/status/statusStore.js";
import { startLocalAzurite, type LocalAzurite } from "../../dev/localAzurite.js";
import { baseDeployment } from "../support/deployments.js";
import { fleetTruth } from "../support/fleetTruth.js";
import { schedulerView } from "../support/schedulerViewSeed.js";
import { eventually, startTestSimulator } from "../support/testSimulator.js";

const budget = { graceMs: 60_000, minRefillIntervalMs: 3_600_000 };

function managed(id: string, targetCondition: string): ManagedConfiguration {
  return {
    id,
    kind: "base",
    targetCondition,
    priority: 10,
    modules: { app: "app" },
    images: { app: "example/app:1" },
    pods: [`default/${id}/uid`],
    state: { phase: "OnHub" },
  };
}

function tagsChanged(hub: string, deviceId: string): ReceivedEventLike {
  return {
    body: { version: 2, tags: { site: "north" } },
    properties: {
      "iothub-message-schema": "twinChangeNotification",
      hubName: hub,
      deviceId,
      opType: "updateTwin",
      operationTimestamp: new Date().toISOString(),
    },
  };
}

describe("reconciling with the hub's metrics", { timeout: 90_000 }, () => {
  let azurite: LocalAzurite;
  let simulator: RunningSimulator;
  let hub: HubClient;
  let store: StatusStore;

  async function deploy(id: string, targetCondition: string): Promise<void> {
    const deployment = baseDeployment(id, { targetCondition, modules: { app: { image: "example/app:1" } } });
    await hub.createConfiguration({ id, content: deployment.content ?? {}, targetCondition, priority: 10 });
    await simulator.fleet.evaluateNow();
    const site = /'(\w+)'/.exec(targetCondition)![1]!;
    await eventually(
      () => fleetTruth(simulator, ["dev-1", "dev-2", "dev-3"], { id, site, modules: ["app"] }),
      (truth) => truth.running > 0 && truth.running === truth.targeted,
    );
    await eventually(
      () => hub.getConfiguration(id),
      (c) => (c.systemMetrics?.results?.["reportedSuccessfulCount"] ?? 0) > 0,
    );
  }

  const stored = async (hubName: string, id: string) => (await store.fleetStatuses(hubName, [id])).get(id)!;

  beforeAll(async () => {
    azurite = await startLocalAzurite();
    simulator = await startTestSimulator({
      devices: [
        { deviceId: "dev-1", tags: { site: "north" } },
        { deviceId: "dev-2", tags: { site: "north" } },
        { deviceId: "dev-3", tags: { site: "west" } },
      ],
    });
    hub = createHubClient(simulator.iotHubConnectionString);
    store = StatusStore.fromConnectionString(azurite.connectionString);
  });

  afterAll(async () => {
    hub?.close();
    await simulator?.stop();
    await azurite?.stop();
  });

  it("names the counts that differ from the hub's, the reported ones included", () => {
    const fleet = {
      counts: { targeted: 2, applied: 2, running: 1, failed: 1, offline: 0 },
      reported: { successful: 2, failed: 0 },
    } as FleetStatus;
    expect(
      metricDisagreements(fleet, {
        targetedCount: 2,
        appliedCount: 2,
        reportedSuccessfulCount: 1,
        reportedFailedCount: 1,
      }),
    ).toEqual(["reportedSuccessfulCount", "reportedFailedCount"]);
    expect(metricDisagreements(fleet, { targetedCount: 2, appliedCount: 2 })).toEqual([]);
  });

  it("reads nothing while a disagreement is younger than the grace period, then reads the twins again into every stored part", async () => {
    const status = await HubStatus.open({ hub: "north-hub", store, hubClient: () => hub });
    await status.setConfigurations(schedulerView("north-hub", [managed("north", "tags.site = 'north'")]));
    // A partition that heard one device's event (a tag it already had), and then nothing.
    await status.processEvents("0", [tagsChanged("north-hub", "dev-1")]);
    await deploy("north", "tags.site = 'north'");
    simulator.fleet.setOnline("dev-2", false);
    expect((await stored("north-hub", "north")).counts).toMatchObject({ applied: 0, offline: 0 });
    const queries = simulator.stats.operations["queryTwins"] ?? 0;

    const t0 = new Date("2026-11-25T10:00:00Z");
    const first = await reconcileWithHubMetrics(status, hub, t0, budget);
    expect(first).toEqual({ compared: 1, disagreeing: ["north"], refilled: false });
    const early = await reconcileWithHubMetrics(status, hub, new Date(t0.getTime() + 30_000), budget);
    expect(early.refilled).toBe(false);
    expect(simulator.stats.operations["queryTwins"]).toBe(queries);

    const late = await reconcileWithHubMetrics(status, hub, new Date(t0.getTime() + 61_000), budget);
    expect(late.refilled).toBe(true);
    expect(simulator.stats.operations["queryTwins"]).toBe(queries + 2);
    // the partition was moved onto the new fill: its device counted once, with the twins' state
    expect(await store.deviceCounts("north-hub")).toEqual({ total: 3, connected: 2 });
    expect(await stored("north-hub", "north")).toMatchObject({
      counts: { targeted: 2, applied: 2, running: 2, failed: 0, offline: 1 },
      reported: { successful: 2, failed: 0 },
    });
    const agreed = await reconcileWithHubMetrics(status, hub, new Date(t0.getTime() + 62_000), budget);
    expect(agreed).toEqual({ compared: 1, disagreeing: [], refilled: false });
  });

  it("reads the twins again at most once per refill interval", async () => {
    const status = await HubStatus.open({ hub: "west-hub", store, hubClient: () => hub });
    await status.setConfigurations(schedulerView("west-hub", [managed("west", "tags.site = 'west'")]));
    await deploy("west", "tags.site = 'west'");
    const t0 = new Date("2026-11-25T11:00:00Z");
    await reconcileWithHubMetrics(status, hub, t0, budget);
    expect(
      (await reconcileWithHubMetrics(status, hub, new Date(t0.getTime() + 61_000), budget)).refilled,
    ).toBe(true);
    // The pipeline misses the next change too: the disagreement is seen, the repair waits.
    simulator.fleet.setTags("dev-1", { site: "west" });
    await simulator.fleet.evaluateNow();
    await eventually(
      () => hub.getConfiguration("west"),
      (c) => c.systemMetrics?.results?.["appliedCount"] === 2,
    );
    await reconcileWithHubMetrics(status, hub, new Date(t0.getTime() + 120_000), budget);
    const waiting = await reconcileWithHubMetrics(status, hub, new Date(t0.getTime() + 200_000), budget);
    expect(waiting).toEqual({ compared: 1, disagreeing: ["west"], refilled: false });
    const later = new Date(t0.getTime() + 61_000 + budget.minRefillIntervalMs);
    expect((await reconcileWithHubMetrics(status, hub, later, budget)).refilled).toBe(true);
    expect((await stored("west-hub", "west")).counts).toMatchObject({ targeted: 2, applied: 2 });
  });
});
