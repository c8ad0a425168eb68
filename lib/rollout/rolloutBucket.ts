// Every device's rollout bucket (0-99): a staged rollout reaches bucket 0 first and bucket 99 last
// (`tags.<ROLLOUT_BUCKET_TAG> < N` is the first N % of the fleet). The bucket is a hash of the device
// id, so it never changes, any instance computes the same one, and a lost or repeated tag write is
// harmless. The connector keeps it as a device twin tag because target conditions can only read
// what the twin holds.
import { createHash } from "node:crypto";

/** The device twin tag the connector writes each device's bucket into. */
export const ROLLOUT_BUCKET_TAG = "iotEdgeConnectorRolloutBucket";
export const ROLLOUT_BUCKETS = 100;

/** The device's bucket: the first four bytes of the SHA-256 of its id, modulo 100. */
export function rolloutBucket(deviceId: string): number {
  return createHash("sha256").update(deviceId, "utf8").digest().readUInt32BE(0) % ROLLOUT_BUCKETS;
}

/** Whether the device's tags already carry its bucket (a tag someone changed is written again). */
export function hasRolloutBucket(deviceId: string, tags: Readonly<Record<string, unknown>>): boolean {
  return tags[ROLLOUT_BUCKET_TAG] === rolloutBucket(deviceId);
}
