import { describe, expect, it } from "vitest";
import { createMemoryEventLog, partitionIndexForKey } from "../../../../dev/simulator/memoryEventLog.js";
import type { HubEvent } from "../../../../dev/simulator/eventLog.js";

function event(deviceId: string, n: number): HubEvent {
  return {
    body: { n },
    annotations: { "iothub-connection-device-id": deviceId },
    applicationProperties: { deviceId },
    properties: { contentType: "application/json", contentEncoding: "utf-8" },
  };
}

describe("memory event log", () => {
  it("has partitions 0..n-1 and refuses an unknown partition by name", () => {
    const log = createMemoryEventLog(4);
    expect(log.partitionIds).toEqual(["0", "1", "2", "3"]);
    expect(() => log.read("4", 0, 10)).toThrow(/unknown partition "4"/);
    expect(() => createMemoryEventLog(0)).toThrow(/partitionCount/);
  });

  it("puts every event of one device on the same partition, chosen by a stable hash", () => {
    const log = createMemoryEventLog(4);
    const first = log.append("edge-7", event("edge-7", 1));
    const second = log.append("edge-7", event("edge-7", 2));
    expect(second.partitionId).toBe(first.partitionId);
    expect(first.partitionId).toBe(String(partitionIndexForKey("edge-7", 4)));
    // Stable across processes and releases: FNV-1a 32-bit, checked against its published test vector.
    expect(partitionIndexForKey("a", 0xffffffff)).toBe(0xe40c292c);
    expect(partitionIndexForKey("edge-7", 4)).toBe(0);
    const used = new Set(Array.from({ length: 64 }, (_, i) => partitionIndexForKey(`device-${i}`, 4)));
    expect(used.size).toBe(4);
  });

  it("numbers events from 0 per partition with growing decimal byte offsets", () => {
    const log = createMemoryEventLog(1);
    const stored = [1, 2, 3].map((n) => log.append("d", event("d", n)));
    expect(stored.map((e) => e.sequenceNumber)).toEqual([0, 1, 2]);
    expect(stored.map((e) => e.offset)).toEqual(["0", "7", "14"]); // {"n":1} is 7 bytes
    expect(log.partitionInfo("0")).toMatchObject({
      beginningSequenceNumber: 0,
      lastEnqueuedSequenceNumber: 2,
      lastEnqueuedOffset: "14",
      isEmpty: false,
    });
  });

  it("reports an empty partition as Event Hubs does", () => {
    const info = createMemoryEventLog(2).partitionInfo("1");
    expect(info).toMatchObject({ isEmpty: true, lastEnqueuedSequenceNumber: -1, lastEnqueuedOffset: "-1" });
  });

  it("reads from a sequence number, at most max events", () => {
    const log = createMemoryEventLog(1);
    for (let n = 0; n < 10; n++) log.append("d", event("d", n));
    expect(log.read("0", 4, 3).map((e) => e.sequenceNumber)).toEqual([4, 5, 6]);
    expect(log.read("0", 8, 100).map((e) => e.sequenceNumber)).toEqual([8, 9]);
    expect(log.read("0", 10, 100)).toEqual([]);
  });

  it("drops the oldest events past the retention and moves beginningSequenceNumber", () => {
    const log = createMemoryEventLog(1, { retainPerPartition: 5 });
    for (let n = 0; n < 23; n++) log.append("d", event("d", n));
    expect(log.partitionInfo("0").beginningSequenceNumber).toBe(18);
    expect(log.read("0", 0, 100).map((e) => e.sequenceNumber)).toEqual([18, 19, 20, 21, 22]);
  });

  it("never lets enqueued times go backwards within a partition", () => {
    const times = [new Date(5_000), new Date(3_000)];
    const log = createMemoryEventLog(1, { now: () => times.shift() ?? new Date(9_000) });
    const a = log.append("d", event("d", 1));
    const b = log.append("d", event("d", 2));
    expect(b.enqueuedTime.getTime()).toBe(a.enqueuedTime.getTime());
  });

  it("tells subscribers of each append to their partition until they unsubscribe", () => {
    const log = createMemoryEventLog(1);
    const seen: number[] = [];
    const unsubscribe = log.subscribe("0", (e) => seen.push(e.sequenceNumber));
    log.append("d", event("d", 1));
    log.append("d", event("d", 2));
    unsubscribe();
    log.append("d", event("d", 3));
    expect(seen).toEqual([0, 1]);
  });
});
