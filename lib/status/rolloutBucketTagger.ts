// Writes the rollout bucket tag (lib/rollout/rolloutBucket.ts) onto devices the status pipeline
// holds without it: a few per call, one twin update each, so the tags cost a small, bounded share
// of the hub's twin-update budget (50/s on S1) however large the fleet. A device written once is
// not written again by this process until its twin says otherwise through an event that arrives
// after the write (the write's own event brings the tag). A failed write is retried on a later call.
import type { HubClient } from "../hub/hubClient.js";
import { hasRolloutBucket, ROLLOUT_BUCKET_TAG, rolloutBucket } from "../rollout/rolloutBucket.js";
import { deviceStateFromTwins, type DeviceState } from "./deviceState.js";

type TaggedDevice = Pick<DeviceState, "deviceId" | "tags" | "twinVersion">;

/** Bucket tags written after one partition's batch, at most. */
export const BUCKET_WRITES_PER_BATCH = 20;
/** Bucket tags written per status reconcile run, at most (1/s at the 5-minute default). */
export const BUCKET_WRITES_PER_RECONCILE = 300;
/** The IoT Edge devices without a bucket tag: one page of it per reconcile run. */
export const UNBUCKETED_DEVICES_QUERY = `SELECT * FROM devices WHERE capabilities.iotEdge = true AND NOT IS_DEFINED(tags.${ROLLOUT_BUCKET_TAG})`;

export class RolloutBucketTagger {
  /** devices this process wrote, with the twin version it saw then */
  private readonly written = new Map<string, number>();

  constructor(
    private readonly hubClient: () => HubClient,
    private readonly warn: (message: string) => void,
  ) {}

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

  /** Tags at most `limit` devices, one at a time; returns how many were written. */
  async tag(states: Iterable<TaggedDevice>, limit: number): Promise<number> {
    let count = 0;
    for (const state of this.unbucketed(states)) {
      if (count >= limit) break;
      try {
        await this.hubClient().updateDeviceTags(state.deviceId, {
          [ROLLOUT_BUCKET_TAG]: rolloutBucket(state.deviceId),
        });
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
