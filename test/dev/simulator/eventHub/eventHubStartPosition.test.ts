import { describe, expect, it } from "vitest";
import { parseStartFilter, startSequenceNumber } from "../../../../dev/simulator/eventHubStartPosition.js";
import { createMemoryEventLog } from "../../../../dev/simulator/memoryEventLog.js";
import type { HubEvent } from "../../../../dev/simulator/eventLog.js";

const event: HubEvent = {
  body: { n: 1 }, // 7 bytes of JSON: offsets 0, 7, 14, ...
  annotations: {},
  applicationProperties: {},
  properties: { contentType: "application/json", contentEncoding: "utf-8" },
};

/** A one-partition log of five events enqueued at 1000, 2000, ... 5000 ms. */
function fiveEvents() {
  let clock = 0;
  const log = createMemoryEventLog(1, { now: () => new Date((clock += 1000)) });
  for (let i = 0; i < 5; i++) log.append("d", event);
  return log;
}

function start(expression: string): number {
  return startSequenceNumber(fiveEvents(), "0", parseStartFilter(expression));
}

describe("receiver start positions", () => {
  it("starts at the beginning for the earliest position (offset > -1)", () => {
    expect(start("amqp.annotation.x-opt-offset > '-1'")).toBe(0);
  });

  it("starts after the last event for the latest position", () => {
    expect(start("amqp.annotation.x-opt-offset > '@latest'")).toBe(5);
  });

  it("starts after or at an offset", () => {
    expect(start("amqp.annotation.x-opt-offset > '14'")).toBe(3);
    expect(start("amqp.annotation.x-opt-offset >= '14'")).toBe(2);
  });

  it("starts after or at a sequence number", () => {
    expect(start("amqp.annotation.x-opt-sequence-number > '1'")).toBe(2);
    expect(start("amqp.annotation.x-opt-sequence-number >= '1'")).toBe(1);
  });

  it("starts after an enqueued time", () => {
    expect(start("amqp.annotation.x-opt-enqueued-time > '3000'")).toBe(3);
    expect(start("amqp.annotation.x-opt-enqueued-time > '2500'")).toBe(2);
    expect(start("amqp.annotation.x-opt-enqueued-time > '9000'")).toBe(5);
  });

  it("never starts before the oldest retained event", () => {
    const log = createMemoryEventLog(1, { retainPerPartition: 2 });
    for (let i = 0; i < 6; i++) log.append("d", event);
    expect(
      startSequenceNumber(log, "0", parseStartFilter("amqp.annotation.x-opt-sequence-number >= '0'")),
    ).toBe(4);
  });

  it("refuses a filter it does not understand, quoting it", () => {
    expect(() => parseStartFilter("amqp.annotation.x-opt-partition-key = 'a'")).toThrow(
      /unsupported selector filter "amqp.annotation.x-opt-partition-key = 'a'"/,
    );
    expect(() => parseStartFilter("amqp.annotation.x-opt-sequence-number > 'ten'")).toThrow(/not an integer/);
  });
});
