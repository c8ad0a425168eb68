// The Event Hubs extension's options as the local host reads them: the real extension's defaults,
// host.json `extensions.eventHubs`, and app settings that override host.json as the host allows.
import { readFileSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { parseTimeSpan, readEventHubOptions } from "../../../dev/host/eventHubOptions.js";

const root = path.resolve(import.meta.dirname, "../../..");

describe("Event Hubs extension options", () => {
  it("defaults to the real extension's: batches of 100, 300 events prefetched, greedy balancing every 30 s, ownership expiring after 2 minutes", () => {
    expect(readEventHubOptions({}, {})).toEqual({
      maxEventBatchSize: 100,
      prefetchCount: 300,
      loadBalancing: {
        strategy: "greedy",
        updateIntervalInMs: 30_000,
        partitionOwnershipExpirationIntervalInMs: 120_000,
      },
    });
  });

  it("takes host.json's values, with app settings overriding them", () => {
    const options = readEventHubOptions(
      {
        maxEventBatchSize: 500,
        prefetchCount: 1500,
        loadBalancingUpdateInterval: "00:00:10",
        partitionOwnershipExpirationInterval: "00:01:00",
      },
      { AzureFunctionsJobHost__extensions__eventHubs__partitionOwnershipExpirationInterval: "00:00:30" },
    );
    expect(options).toEqual({
      maxEventBatchSize: 500,
      prefetchCount: 1500,
      loadBalancing: {
        strategy: "greedy",
        updateIntervalInMs: 10_000,
        partitionOwnershipExpirationIntervalInMs: 30_000,
      },
    });
  });

  it("reads TimeSpans with days and fractions of a second", () => {
    expect(parseTimeSpan("1.00:00:01.5", "x")).toBe(86_401_500);
    expect(() => parseTimeSpan("30s", "host.json extensions.eventHubs.loadBalancingUpdateInterval")).toThrow(
      /loadBalancingUpdateInterval: "30s" is not a TimeSpan/,
    );
  });

  it("refuses an ownership that would expire before its owner renews it, naming both options", () => {
    expect(() =>
      readEventHubOptions(
        { loadBalancingUpdateInterval: "00:00:10", partitionOwnershipExpirationInterval: "00:00:05" },
        {},
      ),
    ).toThrow(/partitionOwnershipExpirationInterval must be longer than loadBalancingUpdateInterval/);
    expect(() => readEventHubOptions({ maxEventBatchSize: 0 }, {})).toThrow(
      /maxEventBatchSize must be a positive integer/,
    );
  });

  it("refuses a negative prefetch (0, as in the real extension, turns prefetching off)", () => {
    expect(readEventHubOptions({ prefetchCount: 0 }, {}).prefetchCount).toBe(0);
    expect(() => readEventHubOptions({ prefetchCount: -1 }, {})).toThrow(
      /prefetchCount must be an integer of at least 0, got -1/,
    );
  });

  it("reads the app's own host.json: batches of 1,000 with 3,000 events prefetched", () => {
    const hostJson = JSON.parse(readFileSync(path.join(root, "host.json"), "utf8")) as {
      extensions: { eventHubs: Record<string, unknown> };
    };
    expect(readEventHubOptions(hostJson.extensions.eventHubs, {})).toMatchObject({
      maxEventBatchSize: 1000,
      prefetchCount: 3000,
    });
  });
});
