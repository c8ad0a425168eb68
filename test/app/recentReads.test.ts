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
  it("makes callers that arrive while a read runs share the next one, started once it ends, and never before they arrived", async () => {
    let now = 1_000;
    const started: { at: number; finish: (value: number) => void }[] = [];
    const reads = new RecentReads<number>(1_000, () => now);
    const load = () => new Promise<number>((resolve) => started.push({ at: now, finish: resolve }));
    const read = (arrivedAt: number) => reads.read("hub1", load, { startedAfter: arrivedAt });

    const first = read(now);
    now += 10;
    const second = read(now);
    now += 10;
    const third = read(now);
    expect(started).toHaveLength(1); // the two later batches wait for the next read, not one each

    now += 30;
    started[0]!.finish(1);
    expect(await first).toBe(1);
    await new Promise((resolve) => setImmediate(resolve));
    expect(started).toHaveLength(2);
    expect(started[1]!.at).toBeGreaterThanOrEqual(1_020); // after both later batches arrived
    started[1]!.finish(2);
    expect(await second).toBe(2);
    expect(await third).toBe(2);
  });

  it("starts the next read even when the running one fails, and fails only its own callers", async () => {
    let now = 0;
    const started: { finish: (value: string) => void; fail: (error: Error) => void }[] = [];
    const reads = new RecentReads<string>(1_000, () => now);
    const load = () => new Promise<string>((finish, fail) => started.push({ finish, fail }));
    const first = reads.read("hub1", load, { startedAfter: now });
    now += 5;
    const second = reads.read("hub1", load, { startedAfter: now });
    started[0]!.fail(new Error("storage down"));
    await expect(first).rejects.toThrow("storage down");
    await new Promise((resolve) => setImmediate(resolve));
    started[1]!.finish("view");
    await expect(second).resolves.toBe("view");
  });
});
