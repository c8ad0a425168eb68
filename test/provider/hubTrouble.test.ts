// The hub's trouble as the node and its pods show it: the scheduler's record of 429s or failures,
// shown once it has lasted a minute. Node conditions through the ProviderService with the scheduler
// view and device counts as the app's stores would hand them over (it reads no pod records here).
import { describe, expect, it } from "vitest";
import { hubTroubleShownAfterMs, shownHubTrouble } from "../../lib/provider/hubTrouble.js";
import type { PodRecords } from "../../lib/provider/podRecords.js";
import { ProviderService, type PodWorkflows } from "../../lib/provider/providerService.js";
import type { HubSchedulerView, HubTrouble } from "../../lib/scheduler/schedulerContract.js";

const since = "2026-12-03T16:00:00.000Z";
const at = (ms: number) => new Date(Date.parse(since) + ms);

function view(hubTrouble?: HubTrouble): HubSchedulerView {
  return {
    hub: "hub1",
    configurations: {},
    deploymentsOnHub: 2,
    deploymentLimit: 100,
    counters: { creates: 2, deletes: 0, throttled: 0, coalesced: 0 },
    ...(hubTrouble && { hubTrouble }),
  };
}

function conditionsAt(now: Date, hubTrouble?: HubTrouble) {
  const service = new ProviderService({
    hubNames: ["hub1"],
    records: undefined as unknown as PodRecords,
    hubClient: () => {
      throw new Error("node conditions make no hub call");
    },
    deploymentLimit: () => 100,
    backlogLimit: 0,
    nodePolicy: () => ({ namespaces: {} }),
    baseDeployment: () => undefined,
    fleetStatuses: () => Promise.resolve(new Map()),
    fleetTag: () => Promise.resolve(""),
    deviceCounts: () => Promise.resolve({ total: 5, connected: 4 }),
    now: () => now,
  });
  const workflows = { schedulerState: () => Promise.resolve(view(hubTrouble)) } as unknown as PodWorkflows;
  return service.nodeConditions(workflows, { cluster: "c", hub: "hub1", node: "edge" }, "hub1", "edge");
}

describe("the hub's trouble", () => {
  it("is shown once it has lasted a minute, not before", () => {
    const trouble: HubTrouble = { kind: "Throttled", since };
    expect(shownHubTrouble(view(trouble), at(hubTroubleShownAfterMs - 1))).toBeUndefined();
    expect(shownHubTrouble(view(trouble), at(hubTroubleShownAfterMs))).toEqual(trouble);
    expect(shownHubTrouble(undefined, at(hubTroubleShownAfterMs))).toBeUndefined();
  });

  it("turns the node's HubReachable False with the kind and since when, and the node stays as it was otherwise", async () => {
    const throttled = await conditionsAt(at(90_000), { kind: "Throttled", since });
    expect(throttled.hubReachable).toBe(false);
    expect(throttled.conditions.find((c) => c.type === "HubReachable")).toEqual({
      type: "HubReachable",
      status: "False",
      reason: "HubThrottling",
      message: `IoT Hub hub1 has throttled the connector's configuration operations (429) since ${since}; deployments wait, devices keep running`,
    });
    expect(throttled.devicesConnected).toBe(4);
    const unavailable = await conditionsAt(at(90_000), { kind: "Unavailable", since });
    expect(unavailable.conditions.find((c) => c.type === "HubReachable")).toMatchObject({
      status: "False",
      reason: "HubUnavailable",
    });
  });

  it("leaves HubReachable True during a short spell of 429s", async () => {
    const brief = await conditionsAt(at(5_000), { kind: "Throttled", since });
    expect(brief.hubReachable).toBe(true);
    expect(brief.conditions.find((c) => c.type === "HubReachable")).toMatchObject({
      status: "True",
      reason: "HubReachable",
    });
  });
});
