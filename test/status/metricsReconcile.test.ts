// The reconcile timer's logic against the simulator's real configuration metrics: the cache here
// hears no events, so it drifts from the hub exactly as a cache that lost events would.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createHubClient } from "../../lib/hub/createHubClient.js";
import type { HubClient } from "../../lib/hub/hubClient.js";
import type { HubSchedulerView, ManagedConfiguration } from "../../lib/scheduler/schedulerContract.js";
import type { RunningSimulator } from "../../dev/simulator/simulator.js";
import { HubStatus } from "../../lib/status/hubStatus.js";
import { reconcileWithHubMetrics } from "../../lib/status/metricsReconcile.js";
import { StatusStore } from "../../lib/status/statusStore.js";
import { startLocalAzurite, type LocalAzurite } from "../../dev/localAzurite.js";
import { baseDeployment } from "../support/deployments.js";
import { eventually, startTestSimulator } from "../support/testSimulator.js";

const budget = { graceMs: 60_000, maxQueries: 2, maxRefreshes: 50 };

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

function view(hub: string, configurations: ManagedConfiguration[]): HubSchedulerView {
  return {
    hub,
    configurations: Object.fromEntries(configurations.map((c) => [c.id, c])),
    deploymentsOnHub: configurations.length,
    deploymentLimit: 100,
    counters: { creates: 0, deletes: 0, throttled: 0, coalesced: 0 },
  };
}

describe("reconciling with the hub's metrics", { timeout: 90_000 }, () => {
  let azurite: LocalAzurite;
  let simulator: RunningSimulator;
  let hub: HubClient;

  async function deploy(id: string, targetCondition: string): Promise<void> {
    const deployment = baseDeployment(id, { targetCondition, modules: { app: { image: "example/app:1" } } });
    await hub.createConfiguration({ id, content: deployment.content ?? {}, targetCondition, priority: 10 });
    await simulator.fleet.evaluateNow();
    await eventually(
      () => hub.getConfiguration(id),
      (c) => (c.systemMetrics?.results?.["appliedCount"] ?? 0) > 0,
    );
  }

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
  });

  afterAll(async () => {
    hub?.close();
    await simulator?.stop();
    await azurite?.stop();
  });

  it("reads nothing while a disagreement is younger than the grace period, then reads the devices again and agrees", async () => {
    const store = StatusStore.fromConnectionString(azurite.connectionString);
    const status = await HubStatus.open({ hub: "north-hub", store, hubClient: () => hub });
    await status.setConfigurations(view("north-hub", [managed("north", "tags.site = 'north'")]));
    await deploy("north", "tags.site = 'north'");
    expect(status.fleet.status("north")!.counts.applied).toBe(0); // the cache heard no event

    const t0 = new Date("2026-11-25T10:00:00Z");
    const first = await reconcileWithHubMetrics(status, hub, t0, budget);
    expect(first).toMatchObject({ compared: 1, disagreeing: 1, refreshed: 0, queries: 0 });
    const early = await reconcileWithHubMetrics(status, hub, new Date(t0.getTime() + 30_000), budget);
    expect(early).toMatchObject({ disagreeing: 1, refreshed: 0, queries: 0 });

    const late = await reconcileWithHubMetrics(status, hub, new Date(t0.getTime() + 61_000), budget);
    expect(late).toMatchObject({ disagreeing: 1, queries: 1, refreshed: 2, fromHubMetrics: [] });
    expect(status.fleet.status("north")).toMatchObject({
      counts: { targeted: 2, applied: 2 },
      source: "events",
    });
    expect(status.drift).toEqual({});
  });

  it("shows the hub's counts, marked hubMetrics, when the devices cannot be read within the budget", async () => {
    const store = StatusStore.fromConnectionString(azurite.connectionString);
    const status = await HubStatus.open({ hub: "west-hub", store, hubClient: () => hub });
    await status.setConfigurations(view("west-hub", [managed("west", "tags.site = 'west'")]));
    await deploy("west", "tags.site = 'west'");
    const t0 = new Date("2026-11-25T11:00:00Z");
    const noReads = { ...budget, maxRefreshes: 0 };
    await reconcileWithHubMetrics(status, hub, t0, noReads);
    const result = await reconcileWithHubMetrics(status, hub, new Date(t0.getTime() + 61_000), noReads);
    expect(result.fromHubMetrics).toEqual(["west"]);
    const fleet = status.fleet.status("west")!;
    expect(fleet).toMatchObject({ counts: { targeted: 1, applied: 1 }, source: "hubMetrics" });
    expect((await store.fleetStatuses("west-hub", ["west"])).get("west")).toEqual(fleet);
  });
});
