// The Event Hubs extension's options as the local host reads them: the real extension's defaults,
// host.json `extensions.eventHubs`, and app settings that override host.json as the host allows.
import { describe, expect, it } from "vitest";
import { parseTimeSpan, readEventHubOptions } from "../../../dev/host/eventHubOptions.js";

describe("Event Hubs extension options", () => {
  it("defaults to the real extension's: batches of 100, greedy balancing every 30 s, ownership expiring after 2 minutes", () => {
    expect(readEventHubOptions({}, {})).toEqual({
      maxEventBatchSize: 100,
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
        loadBalancingUpdateInterval: "00:00:10",
        partitionOwnershipExpirationInterval: "00:01:00",
      },
      { AzureFunctionsJobHost__extensions__eventHubs__partitionOwnershipExpirationInterval: "00:00:30" },
    );
    expect(options).toEqual({
      maxEventBatchSize: 500,
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
});
