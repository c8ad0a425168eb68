// Writes the rollout bucket tag (lib/rollout/rolloutBucket.ts) onto devices the status pipeline
// holds without it, one twin update each, so the tags cost a small, bounded share of the hub's
// twin-update budget (50/s on S1) however large the fleet. A device written once is not written
// again by this process until its twin says otherwise through an event that arrives after the write
// (the write's own event brings the tag).
//
// The partitions hand their devices to a queue and go on: a batch never waits for the hub. The queue
// writes in the background, at most BUCKET_WRITES_PER_SECOND a second (side by side within a round),
// and queues a failed write again, up to BUCKET_WRITE_ATTEMPTS times. What a process loses (it
// stopped, or gave up on a device) the status reconcile finds with its twin query (tagUnbucketed).
import type { HubClient } from "../hub/hubClient.js";
import { hasRolloutBucket, ROLLOUT_BUCKET_TAG, rolloutBucket } from "../rollout/rolloutBucket.js";
import { deviceStateFromTwins, type DeviceState } from "./deviceState.js";

type TaggedDevice = Pick<DeviceState, "deviceId" | "tags" | "twinVersion">;

/** Bucket tags the queue writes a second, at most, per app instance: a fifth of S1's twin updates. */
export const BUCKET_WRITES_PER_SECOND = 10;
/** Writes of one device's tag the queue tries before leaving it to the status reconcile. */
export const BUCKET_WRITE_ATTEMPTS = 5;
/** Bucket tags written per status reconcile run, at most (1/s at the 5-minute default). */
export const BUCKET_WRITES_PER_RECONCILE = 300;
/** The IoT Edge devices without a bucket tag: one page of it per reconcile run. */
export const UNBUCKETED_DEVICES_QUERY = `SELECT * FROM devices WHERE capabilities.iotEdge = true AND NOT IS_DEFINED(tags.${ROLLOUT_BUCKET_TAG})`;

export interface QueueOptions {
  /** writes a round, at most (default BUCKET_WRITES_PER_SECOND) */
  writesPerRound?: number;
  /** waits out the rest of a round (default: what is left of its second) */
  pause?: (roundStartedAt: number) => Promise<void>;
}

// unref: a queue still draining never keeps a process (a benchmark, a tool) from exiting
const restOfSecond = (startedAt: number) =>
  new Promise<void>((resolve) => setTimeout(resolve, Math.max(0, startedAt + 1_000 - Date.now())).unref());

interface Queued {
  state: TaggedDevice;
  attempts: number;
}

export class RolloutBucketTagger {
  /** devices this process wrote, with the twin version it saw then */
  private readonly written = new Map<string, number>();
  /** devices waiting for their write, oldest first */
  private readonly queue = new Map<string, Queued>();
  /** devices whose write is under way */
  private readonly writing = new Set<string>();
  private draining: Promise<void> | undefined;
  private readonly writesPerRound: number;
  private readonly pause: (roundStartedAt: number) => Promise<void>;

  constructor(
    private readonly hubClient: () => HubClient,
    private readonly warn: (message: string) => void,
    options: QueueOptions = {},
  ) {
    this.writesPerRound = options.writesPerRound ?? BUCKET_WRITES_PER_SECOND;
    this.pause = options.pause ?? restOfSecond;
  }

  /** The devices among `states` that lack their bucket and were not written since their twin last changed. */
  private *unbucketed(states: Iterable<TaggedDevice>): Generator<TaggedDevice> {
    for (const state of states) {
      if (hasRolloutBucket(state.deviceId, state.tags)) {
        this.written.delete(state.deviceId);
        continue;
      }
      const writtenAt = this.written.get(state.deviceId);
      if (writtenAt === undefined || state.twinVersion > writtenAt + 1) yield state;
    }
  }

  /**
   * Queues the devices among `states` that lack their bucket (a newer state replaces a queued one)
   * and returns at once, with how many of them it queued.
   */
  enqueue(states: Iterable<TaggedDevice>): number {
    let count = 0;
    for (const state of this.unbucketed(states)) {
      if (this.writing.has(state.deviceId)) continue;
      const queued = this.queue.get(state.deviceId);
      this.queue.set(state.deviceId, { state, attempts: queued?.attempts ?? 0 });
      count += 1;
    }
    if (this.queue.size > 0) this.draining ??= this.drain().finally(() => (this.draining = undefined));
    return count;
  }

  /** Resolves once the queue is empty. */
  async idle(): Promise<void> {
    while (this.draining) await this.draining;
  }

  private async drain(): Promise<void> {
    while (this.queue.size > 0) {
      const startedAt = Date.now();
      const round = [...this.queue.values()].slice(0, this.writesPerRound);
      for (const { state } of round) {
        this.queue.delete(state.deviceId);
        this.writing.add(state.deviceId);
      }
      await Promise.all(round.map((queued) => this.write(queued)));
      if (this.queue.size > 0) await this.pause(startedAt);
    }
  }

  private async write({ state, attempts }: Queued): Promise<void> {
    try {
      await this.writeBucket(state.deviceId);
      this.written.set(state.deviceId, state.twinVersion);
    } catch (error) {
      const attempt = attempts + 1;
      const next = attempt < BUCKET_WRITE_ATTEMPTS ? "queued again" : "left to the status reconcile";
      this.warn(
        `rollout bucket of device ${state.deviceId} not written (attempt ${attempt}): ${error instanceof Error ? error.message : String(error)}; ${next}`,
      );
      if (attempt < BUCKET_WRITE_ATTEMPTS) this.queue.set(state.deviceId, { state, attempts: attempt });
    } finally {
      this.writing.delete(state.deviceId);
    }
  }

  private async writeBucket(deviceId: string): Promise<void> {
    await this.hubClient().updateDeviceTags(deviceId, { [ROLLOUT_BUCKET_TAG]: rolloutBucket(deviceId) });
  }

  /** Tags at most `limit` devices, one at a time; returns how many were written. */
  async tag(states: Iterable<TaggedDevice>, limit: number): Promise<number> {
    let count = 0;
    for (const state of this.unbucketed(states)) {
      if (count >= limit) break;
      try {
        await this.writeBucket(state.deviceId);
      } catch (error) {
        this.warn(
          `rollout bucket of device ${state.deviceId} not written: ${error instanceof Error ? error.message : String(error)}`,
        );
        return count;
      }
      this.written.set(state.deviceId, state.twinVersion);
      count += 1;
    }
    return count;
  }

  /**
   * Tags devices no event has brought to a partition (they were there before the connector, and
   * quiet since): one twin query page of the devices without the tag, at most `limit` of them.
   */
  async tagUnbucketed(limit: number): Promise<number> {
    let page: TaggedDevice[] = [];
    try {
      for await (const twins of this.hubClient().queryTwins(UNBUCKETED_DEVICES_QUERY, { pageSize: limit })) {
        page = twins.map((twin) => deviceStateFromTwins(twin, undefined));
        break;
      }
    } catch (error) {
      this.warn(
        `devices without a rollout bucket not read: ${error instanceof Error ? error.message : String(error)}`,
      );
      return 0;
    }
    return this.tag(page, limit);
  }
}
