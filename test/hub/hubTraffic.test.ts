// The tally of one hub's requests (lib/hub/hubTraffic.ts) and the node condition it feeds
// (lib/provider/hubCondition.ts).
import { describe, expect, it } from "vitest";
import type { HubAttemptEvent } from "../../lib/hub/hubCallStats.js";
import { HubTraffic } from "../../lib/hub/hubTraffic.js";
import { hubReachableCondition } from "../../lib/provider/hubCondition.js";

const attempt = (event: Partial<HubAttemptEvent>): HubAttemptEvent => ({
  operation: "list",
  target: "configurations",
  attempt: 1,
  outcome: "success",
  durationMs: 5,
  budget: "configurations",
  ...event,
});
const now = new Date("2026-11-25T12:00:00Z");

describe("hub traffic", () => {
  it("counts requests by budget, caller and outcome", () => {
    const traffic = new HubTraffic();
    traffic.record("app", attempt({ budget: "queries" }), 0);
    traffic.record("app", attempt({ budget: "queries", outcome: "throttled", statusCode: 429 }), 1);
    traffic.record("scheduler", attempt({}), 2);
    expect(traffic.requests()).toEqual([
      { budget: "queries", caller: "app", outcome: "success", count: 1 },
      { budget: "queries", caller: "app", outcome: "throttled", count: 1 },
      { budget: "configurations", caller: "scheduler", outcome: "success", count: 1 },
    ]);
  });

  it("hands over the configuration operations made outside the scheduler once", () => {
    const traffic = new HubTraffic();
    traffic.record("app", attempt({}), 0);
    traffic.record("app", attempt({ outcome: "transient", statusCode: 503 }), 1);
    traffic.record("scheduler", attempt({}), 2);
    traffic.record("app", attempt({ budget: "queries" }), 3);
    expect(traffic.takeUnaccountedConfigurationOperations()).toBe(2);
    expect(traffic.takeUnaccountedConfigurationOperations()).toBe(0);
  });

  it("HubReachable: True while the hub answers, even 429; False after a 503; Unknown before any answer", () => {
    const traffic = new HubTraffic();
    expect(hubReachableCondition("hub1", traffic.reachability(), undefined, now)).toMatchObject({
      status: "Unknown",
    });
    traffic.record("app", attempt({ outcome: "throttled", statusCode: 429 }), now.getTime());
    expect(hubReachableCondition("hub1", traffic.reachability(), undefined, now)).toMatchObject({
      status: "True",
      reason: "HubThrottled",
    });
    traffic.record("app", attempt({ outcome: "transient", statusCode: 503 }), now.getTime());
    expect(hubReachableCondition("hub1", traffic.reachability(), undefined, now)).toMatchObject({
      status: "False",
      reason: "HubUnreachable",
      message:
        "IoT Hub hub1 answered 503 at 2026-11-25T12:00:00.000Z; workloads keep running on the devices; changes wait until it answers",
    });
    traffic.record("app", attempt({ outcome: "failed", statusCode: 404 }), now.getTime());
    expect(hubReachableCondition("hub1", traffic.reachability(), undefined, now).status).toBe("True");
  });

  it("HubReachable before this instance talked to the hub: what the scheduler last saw", () => {
    const none = new HubTraffic().reachability();
    expect(hubReachableCondition("hub1", none, { lastError: "create: 503" }, now)).toMatchObject({
      status: "False",
      reason: "HubOperationsFailing",
    });
    const later = new Date(now.getTime() + 10_000).toISOString();
    expect(hubReachableCondition("hub1", none, { throttledUntil: later }, now)).toMatchObject({
      status: "True",
      reason: "HubThrottled",
    });
  });
});
