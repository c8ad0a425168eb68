import { describe, expect, it } from "vitest";
import { RecentReads } from "../../lib/app/recentReads.js";

describe("reads shared for a short while", () => {
  function setUp() {
    let now = 1_000;
    let loads = 0;
    const reads = new RecentReads<number>(1_000, () => now);
    const read = (options?: { startedAfter?: number }) =>
      reads.read("hub1", () => Promise.resolve(++loads), options);
    return { read, advance: (ms: number) => (now += ms), now: () => now };
  }

  it("serves callers within a second from one read, and reads again after", async () => {
    const { read, advance } = setUp();
    expect(await read()).toBe(1);
    advance(999);
    expect(await read()).toBe(1);
    advance(1);
    expect(await read()).toBe(2);
  });

  it("never serves a caller that names a moment with a read started before it", async () => {
    const { read, advance, now } = setUp();
    expect(await read()).toBe(1);
    advance(200);
    const batchArrived = now();
    expect(await read({ startedAfter: batchArrived })).toBe(2);
    // a read started at that moment serves the others who name it, and those who name none
    expect(await read({ startedAfter: batchArrived })).toBe(2);
    expect(await read()).toBe(2);
  });

  it("forgets a failed read, so the next caller reads again", async () => {
    let attempt = 0;
    const reads = new RecentReads<string>(1_000, () => 0);
    const load = () =>
      ++attempt === 1 ? Promise.reject(new Error("storage down")) : Promise.resolve("view");
    await expect(reads.read("hub1", load)).rejects.toThrow("storage down");
    await expect(reads.read("hub1", load)).resolves.toBe("view");
  });
});
