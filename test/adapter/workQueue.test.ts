import { afterEach, describe, expect, it, vi } from "vitest";
import { WorkQueue } from "../../lib/adapter/workQueue.js";

/** A handler whose runs the test finishes one by one. */
function controlledHandler() {
  const runs: { key: string; finish: (error?: Error) => void }[] = [];
  const waiters: (() => void)[] = [];
  const handler = (key: string) =>
    new Promise<void>((resolve, reject) => {
      runs.push({ key, finish: (error) => (error ? reject(error) : resolve()) });
      waiters.splice(0).forEach((wake) => wake());
    });
  const nextRun = async (count: number) => {
    while (runs.length < count) await new Promise<void>((wake) => waiters.push(wake));
    return runs[count - 1] as (typeof runs)[number];
  };
  return { runs, handler, nextRun };
}

const tick = () => new Promise((resolve) => setImmediate(resolve));

/** A queue of 4 workers whose first run is refused with a Retry-After of `retryAfterMs`. */
function refusingFirstRun(retryAfterMs: number, onHold?: (until: number) => void) {
  const started: { key: string; at: number }[] = [];
  const queue = new WorkQueue({
    handler: (key) => {
      started.push({ key, at: Date.now() });
      if (started.length === 1)
        return Promise.reject(Object.assign(new Error("busy"), { retryAfter: retryAfterMs }));
      return Promise.resolve();
    },
    workers: 4,
    baseDelayMs: 60_000,
    maxDelayMs: 60_000,
    retryAfterMs: (error) => (error as { retryAfter?: number }).retryAfter,
    ...(onHold && { onHold: (_key: string, _error: unknown, until: number) => onHold(until) }),
  });
  return { queue, started };
}

afterEach(() => {
  vi.useRealTimers();
});

describe("WorkQueue", () => {
  it("runs one key at a time and once more if it was added during its run", async () => {
    const { runs, handler, nextRun } = controlledHandler();
    const queue = new WorkQueue({ handler, workers: 4, baseDelayMs: 10, maxDelayMs: 100 });
    queue.add("default/a");
    const first = await nextRun(1);
    queue.add("default/a");
    queue.add("default/a");
    await tick();
    expect(runs).toHaveLength(1); // not concurrently with itself
    first.finish();
    const second = await nextRun(2);
    expect(second.key).toBe("default/a");
    second.finish();
    await tick();
    expect(runs).toHaveLength(2); // the two adds during the run collapsed into one rerun
    await queue.shutdown(100);
  });

  it("dedupes a key added several times while it waits", async () => {
    const { runs, handler, nextRun } = controlledHandler();
    const queue = new WorkQueue({ handler, workers: 1, baseDelayMs: 10, maxDelayMs: 100 });
    queue.add("ns/busy");
    const busy = await nextRun(1);
    for (let i = 0; i < 5; i++) queue.add("ns/waiting");
    expect(queue.depth).toBe(1);
    busy.finish();
    (await nextRun(2)).finish();
    await tick();
    expect(runs.map((run) => run.key)).toEqual(["ns/busy", "ns/waiting"]);
    await queue.shutdown(100);
  });

  it("runs a key added first before those already waiting, once", async () => {
    const { runs, handler, nextRun } = controlledHandler();
    const queue = new WorkQueue({ handler, workers: 1, baseDelayMs: 10, maxDelayMs: 100 });
    queue.add("ns/busy");
    const busy = await nextRun(1);
    queue.add("ns/a-2");
    queue.add("ns/a-3");
    queue.add("ns/b-1", { first: true });
    queue.add("ns/b-1", { first: true });
    expect(queue.depth).toBe(3);
    busy.finish();
    for (let run = 2; run <= 4; run++) (await nextRun(run)).finish();
    await tick();
    expect(runs.map((run) => run.key)).toEqual(["ns/busy", "ns/b-1", "ns/a-2", "ns/a-3"]);
    await queue.shutdown(100);
  });

  it("runs different keys in parallel up to the worker count", async () => {
    const { runs, handler, nextRun } = controlledHandler();
    const queue = new WorkQueue({ handler, workers: 2, baseDelayMs: 10, maxDelayMs: 100 });
    ["ns/a", "ns/b", "ns/c"].forEach((key) => queue.add(key));
    await nextRun(2);
    await tick();
    expect(runs.map((run) => run.key)).toEqual(["ns/a", "ns/b"]);
    runs[0]?.finish();
    expect((await nextRun(3)).key).toBe("ns/c");
    runs.slice(1).forEach((run) => run.finish());
    await queue.shutdown(100);
  });

  it("retries a failing key with exponentially growing delays, capped, and resets after success", async () => {
    const delays: number[] = [];
    let failuresLeft = 5;
    let done!: () => void;
    const succeeded = new Promise<void>((resolve) => (done = resolve));
    const queue = new WorkQueue({
      handler: () => {
        if (failuresLeft-- > 0) return Promise.reject(new Error("provider down"));
        done();
        return Promise.resolve();
      },
      workers: 1,
      baseDelayMs: 2,
      maxDelayMs: 10,
      onError: (_key, _error, _attempt, retryInMs) => delays.push(retryInMs),
    });
    queue.add("ns/pod");
    await succeeded;
    await tick();
    expect(delays).toEqual([2, 4, 8, 10, 10]);
    expect(queue.attempts("ns/pod")).toBe(0);
    await queue.shutdown(100);
  });

  it("holds every worker for a failure's Retry-After, with no backoff for the key", async () => {
    const holds: number[] = [];
    const { queue, started } = refusingFirstRun(200, (until) => holds.push(until));
    queue.add("ns/a");
    await tick();
    queue.add("ns/b");
    await tick();
    expect(started.map((run) => run.key)).toEqual(["ns/a"]); // b waits although workers are free
    while (started.length < 3) await new Promise((resolve) => setTimeout(resolve, 20));
    expect(
      started
        .slice(1)
        .map((run) => run.key)
        .sort(),
    ).toEqual(["ns/a", "ns/b"]);
    expect(holds).toHaveLength(1);
    for (const run of started.slice(1)) expect(run.at).toBeGreaterThanOrEqual(holds[0]!);
    expect(queue.attempts("ns/a")).toBe(0); // not a failure: the backoff of 60 s never applied
    await queue.shutdown(100);
  });

  it("starts the held work when its timer fires before the wall clock reaches the hold's end", async () => {
    // Timers run on a monotonic clock and Date.now() on the wall clock: they can disagree by a
    // millisecond or two (a CI run's queue stayed held for good after a 503).
    vi.useFakeTimers();
    const { queue, started } = refusingFirstRun(1_000);
    queue.add("ns/a");
    await vi.advanceTimersByTimeAsync(0);
    queue.add("ns/b");
    vi.setSystemTime(Date.now() - 2); // the wall clock falls 2 ms behind the timers
    await vi.advanceTimersByTimeAsync(1_000);
    await vi.advanceTimersByTimeAsync(10);
    expect(started.map((run) => run.key).sort()).toEqual(["ns/a", "ns/a", "ns/b"]);
    await queue.shutdown(100);
  });

  it("does not cut a backoff short when the key is added again", async () => {
    let calls = 0;
    const queue = new WorkQueue({
      handler: () => {
        calls += 1;
        return Promise.reject(new Error("down"));
      },
      workers: 1,
      baseDelayMs: 60_000,
      maxDelayMs: 60_000,
    });
    queue.add("ns/pod");
    await tick();
    for (let i = 0; i < 10; i++) queue.add("ns/pod");
    await tick();
    expect(calls).toBe(1);
    expect(queue.depth).toBe(1);
    await queue.shutdown(100);
  });

  it("on shutdown drops waiting work and reports whether in-flight work drained in time", async () => {
    const { handler, nextRun } = controlledHandler();
    const queue = new WorkQueue({ handler, workers: 1, baseDelayMs: 10, maxDelayMs: 100 });
    queue.add("ns/slow");
    queue.add("ns/queued");
    await nextRun(1);
    expect(await queue.shutdown(20)).toEqual({ drained: false });
    expect(queue.depth).toBe(0);
    queue.add("ns/late");
    expect(queue.depth).toBe(0);
  });

  it("refuses a configuration that cannot work", () => {
    const handler = () => Promise.resolve();
    expect(() => new WorkQueue({ handler, workers: 0, baseDelayMs: 1, maxDelayMs: 1 })).toThrow(/workers/);
    expect(() => new WorkQueue({ handler, workers: 1, baseDelayMs: 10, maxDelayMs: 1 })).toThrow(
      /baseDelayMs/,
    );
  });
});
