// An in-memory EventLog: one append-only array per partition, bounded by a retention count the way an
// Event Hub is bounded by its retention period (the oldest events go, beginningSequenceNumber moves on).
import type { EventLog, HubEvent, PartitionInfo, StoredEvent } from "./eventLog.js";

export interface MemoryEventLogOptions {
  /** How many events each partition keeps; older ones are dropped. */
  retainPerPartition?: number;
  /** Clock for enqueued times (tests pin it). */
  now?: () => Date;
}

/** Enough for a simulated fleet's backlog while bounding memory (an event is about a kilobyte). */
const DEFAULT_RETAINED_EVENTS = 25_000;

/** Maps a partition key (the device id) to a partition index with FNV-1a, stable across runs and processes. */
export function partitionIndexForKey(partitionKey: string, partitionCount: number): number {
  let hash = 0x811c9dc5;
  for (const byte of Buffer.from(partitionKey, "utf8")) {
    hash ^= byte;
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  return hash % partitionCount;
}

class Partition {
  /** Retained events; events[i].sequenceNumber === firstSequenceNumber + i. */
  private events: StoredEvent[] = [];
  private firstSequenceNumber = 0;
  private nextSequenceNumber = 0;
  private nextOffset = 0;
  private lastEnqueuedTime = new Date(0);
  private readonly listeners = new Set<(event: StoredEvent) => void>();

  constructor(
    readonly partitionId: string,
    private readonly retain: number,
  ) {}

  append(event: HubEvent, now: Date): StoredEvent {
    // Enqueued times never go backwards within a partition, so a time filter can binary-search them.
    const enqueuedTime = now.getTime() < this.lastEnqueuedTime.getTime() ? this.lastEnqueuedTime : now;
    const stored: StoredEvent = {
      ...event,
      partitionId: this.partitionId,
      sequenceNumber: this.nextSequenceNumber,
      offset: String(this.nextOffset),
      enqueuedTime,
    };
    this.nextSequenceNumber += 1;
    // Event Hubs offsets are byte positions in the partition's stream: advance by the event's body size.
    this.nextOffset += Buffer.byteLength(JSON.stringify(event.body) ?? "null", "utf8");
    this.lastEnqueuedTime = enqueuedTime;
    this.events.push(stored);
    // Trim in batches (a quarter of the retention at a time) so appends stay amortised O(1).
    if (this.events.length >= this.retain + Math.ceil(this.retain / 4)) {
      const drop = this.events.length - this.retain;
      this.events = this.events.slice(drop);
      this.firstSequenceNumber += drop;
    }
    for (const listener of this.listeners) listener(stored);
    return stored;
  }

  read(fromSequenceNumber: number, max: number): StoredEvent[] {
    const oldestRetained = Math.max(this.firstSequenceNumber, this.nextSequenceNumber - this.retain);
    const start = Math.max(fromSequenceNumber, oldestRetained) - this.firstSequenceNumber;
    return this.events.slice(start, start + Math.max(0, max));
  }

  subscribe(listener: (event: StoredEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  info(): PartitionInfo {
    const last = this.events.at(-1);
    return {
      partitionId: this.partitionId,
      beginningSequenceNumber: Math.max(this.firstSequenceNumber, this.nextSequenceNumber - this.retain),
      lastEnqueuedSequenceNumber: last ? last.sequenceNumber : -1,
      lastEnqueuedOffset: last ? last.offset : "-1",
      lastEnqueuedTimeUtc: last ? last.enqueuedTime : new Date(0),
      isEmpty: last === undefined,
    };
  }
}

/** Creates an EventLog held in memory with partitions "0" … String(partitionCount - 1). */
export function createMemoryEventLog(partitionCount = 4, options: MemoryEventLogOptions = {}): EventLog {
  if (!Number.isInteger(partitionCount) || partitionCount < 1 || partitionCount > 32) {
    throw new RangeError(
      `partitionCount must be an integer from 1 to 32 (IoT Hub's range), got ${partitionCount}`,
    );
  }
  const retain = options.retainPerPartition ?? DEFAULT_RETAINED_EVENTS;
  if (!Number.isInteger(retain) || retain < 1) {
    throw new RangeError(`retainPerPartition must be a positive integer, got ${retain}`);
  }
  const now = options.now ?? (() => new Date());
  const partitions = Array.from({ length: partitionCount }, (_, i) => new Partition(String(i), retain));
  const partitionIds = Object.freeze(partitions.map((p) => p.partitionId));

  function partition(partitionId: string): Partition {
    const found = /^\d+$/.test(partitionId) ? partitions[Number(partitionId)] : undefined;
    if (!found) {
      throw new RangeError(`unknown partition "${partitionId}": partitions are ${partitionIds.join(", ")}`);
    }
    return found;
  }

  return {
    partitionIds,
    append(partitionKey, event) {
      const index = partitionIndexForKey(partitionKey, partitionCount);
      return (partitions[index] as Partition).append(event, now());
    },
    read: (partitionId, fromSequenceNumber, max) => partition(partitionId).read(fromSequenceNumber, max),
    subscribe: (partitionId, listener) => partition(partitionId).subscribe(listener),
    partitionInfo: (partitionId) => partition(partitionId).info(),
  };
}
