// The bucket tagger against the simulator's REST surface through the project's hub client: it writes
// a bounded number of tags a call, never the same device twice while its write's event is on the way,
// and again when someone changed the tag afterwards. Its queue (what the status pipeline hands it)
// writes in the background, a budgeted round at a time, and retries a failed write.
import { execFile } from "node:child_process";
import path from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { projectNode } from "../../dev/package/compileApp.js";
import type { RunningSimulator } from "../../dev/simulator/simulator.js";
import { createHubClient } from "../../lib/hub/createHubClient.js";
import type { HubClient } from "../../lib/hub/hubClient.js";
import { ROLLOUT_BUCKET_TAG, rolloutBucket } from "../../lib/rollout/rolloutBucket.js";
import { deviceStateFromTwins, type DeviceState } from "../../lib/status/deviceState.js";
import { RolloutBucketTagger } from "../../lib/status/rolloutBucketTagger.js";
import { startTestSimulator } from "../support/testSimulator.js";

const root = path.resolve(import.meta.dirname, "../..");
const deviceIds = ["gw-1", "gw-2", "gw-3", "gw-4", "gw-5"];

describe("rollout bucket tagger", () => {
  let simulator: RunningSimulator;
  let hub: HubClient;
  const warnings: string[] = [];

  beforeAll(async () => {
    simulator = await startTestSimulator({
      devices: deviceIds.map((deviceId) => ({ deviceId, tags: { site: "north" } })),
    });
    hub = createHubClient(simulator.iotHubConnectionString);
  });

  afterAll(async () => {
    hub?.close();
    await simulator?.stop();
  });

  const readStates = async (): Promise<DeviceState[]> =>
    Promise.all(deviceIds.map(async (id) => deviceStateFromTwins(await hub.getDeviceTwin(id), undefined)));
  const twinUpdates = () => simulator.stats.operations["updateTwin"] ?? 0;

  it("writes at most the limit a call, each device's own bucket, keeping its other tags", async () => {
    const tagger = new RolloutBucketTagger(
      () => hub,
      (m) => warnings.push(m),
    );
    const states = await readStates();
    expect(await tagger.tag(states, 2)).toBe(2);
    expect(twinUpdates()).toBe(2);
    // the same (stale) states again: the two written are not written again
    expect(await tagger.tag(states, 10)).toBe(3);
    expect(await tagger.tag(states, 10)).toBe(0);
    expect(twinUpdates()).toBe(5);
    for (const twin of await Promise.all(deviceIds.map((id) => hub.getDeviceTwin(id)))) {
      expect(twin.tags).toEqual({ site: "north", [ROLLOUT_BUCKET_TAG]: rolloutBucket(twin.deviceId) });
    }
    expect(warnings).toEqual([]);
  });

  it("leaves bucketed devices alone and writes again a tag someone changed", async () => {
    const tagger = new RolloutBucketTagger(
      () => hub,
      (m) => warnings.push(m),
    );
    expect(await tagger.tag(await readStates(), 10)).toBe(0);
    await hub.updateDeviceTags("gw-3", { [ROLLOUT_BUCKET_TAG]: 100 });
    const before = twinUpdates();
    expect(await tagger.tag(await readStates(), 10)).toBe(1);
    expect(twinUpdates()).toBe(before + 1);
    expect((await hub.getDeviceTwin("gw-3")).tags?.[ROLLOUT_BUCKET_TAG]).toBe(rolloutBucket("gw-3"));
  });

  it("stops at the first failed write with a warning, and writes it on a later call", async () => {
    const states = await readStates();
    const unbucketed = states.map((s) => ({ ...s, tags: {} }));
    const tagger = new RolloutBucketTagger(
      () =>
        createHubClient(
          simulator.iotHubConnectionString.replace(/SharedAccessKey=[^;]+/, "SharedAccessKey=d3Jvbmc="),
        ),
      (m) => warnings.push(m),
    );
    expect(await tagger.tag(unbucketed, 10)).toBe(0);
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatch(/^rollout bucket of device gw-1 not written: /);
    const working = new RolloutBucketTagger(
      () => hub,
      () => {},
    );
    expect(await working.tag(unbucketed, 10)).toBe(5);
  });

  it("finds devices no event brought with one twin query page, and tags at most the limit a run", async () => {
    for (const id of ["gw-1", "gw-2", "gw-4"]) await hub.updateDeviceTags(id, { [ROLLOUT_BUCKET_TAG]: null });
    const tagger = new RolloutBucketTagger(
      () => hub,
      (m) => warnings.push(m),
    );
    const queries = simulator.stats.operations["queryTwins"] ?? 0;
    expect(await tagger.tagUnbucketed(2)).toBe(2);
    expect(simulator.stats.operations["queryTwins"]).toBe(queries + 1);
    expect(await tagger.tagUnbucketed(10)).toBe(1);
    expect(await tagger.tagUnbucketed(10)).toBe(0);
    for (const twin of await Promise.all(deviceIds.map((id) => hub.getDeviceTwin(id)))) {
      expect(twin.tags?.[ROLLOUT_BUCKET_TAG]).toBe(rolloutBucket(twin.deviceId));
    }
  });

  describe("its queue", () => {
    const untagAll = () =>
      Promise.all(deviceIds.map((id) => hub.updateDeviceTags(id, { [ROLLOUT_BUCKET_TAG]: null })));
    const taggedCount = async () =>
      (await Promise.all(deviceIds.map((id) => hub.getDeviceTwin(id)))).filter(
        (twin) => twin.tags?.[ROLLOUT_BUCKET_TAG] === rolloutBucket(twin.deviceId),
      ).length;

    it("writes every queued device in rounds of at most the round's budget, pausing between rounds", async () => {
      await untagAll();
      const before = twinUpdates();
      const taggedAtPauses: number[] = [];
      const tagger = new RolloutBucketTagger(
        () => hub,
        (m) => warnings.push(m),
        { writesPerRound: 2, pause: async () => void taggedAtPauses.push(await taggedCount()) },
      );
      const queued = tagger.enqueue(await readStates());
      expect(queued).toBe(5);
      await tagger.idle();
      expect(taggedAtPauses).toEqual([2, 4]);
      expect(await taggedCount()).toBe(5);
      expect(twinUpdates()).toBe(before + 5);
    });

    it("queues a device once however often it is handed over, and not again once written", async () => {
      await untagAll();
      const before = twinUpdates();
      const tagger = new RolloutBucketTagger(
        () => hub,
        (m) => warnings.push(m),
        { pause: async () => {} },
      );
      const stale = await readStates();
      tagger.enqueue(stale);
      tagger.enqueue(stale);
      await tagger.idle();
      expect(twinUpdates()).toBe(before + 5);
      // the states the events carried before the writes' own events arrive: nothing to write
      expect(tagger.enqueue(stale)).toBe(0);
      expect(tagger.enqueue(await readStates())).toBe(0);
      await tagger.idle();
      expect(twinUpdates()).toBe(before + 5);
    });

    it("queues a failed write again with a warning, and writes it once the hub answers", async () => {
      await untagAll();
      const refusing = createHubClient(
        simulator.iotHubConnectionString.replace(/SharedAccessKey=[^;]+/, "SharedAccessKey=d3Jvbmc="),
      );
      let answering = false;
      const seen: string[] = [];
      const tagger = new RolloutBucketTagger(
        () => (answering ? hub : refusing),
        (m) => seen.push(m),
        {
          pause: () => {
            answering = true;
            return Promise.resolve();
          },
        },
      );
      tagger.enqueue(await readStates());
      await tagger.idle();
      expect(seen.length).toBeGreaterThan(0);
      expect(seen[0]).toMatch(/^rollout bucket of device gw-\d not written \(attempt 1\): /);
      expect(await taggedCount()).toBe(5);
      refusing.close();
    });

    it("does not keep its process from exiting while it still drains", async () => {
      await untagAll();
      const before = twinUpdates();
      await promisify(execFile)(
        projectNode,
        ["--import", "tsx", path.join(root, "test/status/support/drainingTagger.ts"), ...deviceIds],
        { cwd: root, env: { ...process.env, IOTHUB_CONNECTION_STRING: simulator.iotHubConnectionString } },
      );
      // the process ended after its first round of two: the pause before the next one did not hold it
      expect(twinUpdates() - before).toBe(2);
      expect(await taggedCount()).toBe(2);
    });
  });
});
