// One Event Hubs partition's status pipeline, held by the app instance that reads the partition:
// the states of the devices whose events arrive there (IoT Hub sends all of a device's events to
// one partition), the fleet tracker over them, and the partition's parts of every fleet status.
//
// A device first heard of starts from its filled state when the fill has it; the partition then
// counts the device and subtracts that filled state, which the fill row keeps counting (fleetSum.ts).
// Each batch that changes something is stored as a journal entry (the changed device states) and
// then the partition's row (its parts, and the entry appended to its journal), written with the row's
// ETag: an instance that lost the partition, or whose memory is behind the table, gets a conflict
// and must load the partition again. Every JOURNAL_LIMIT entries the states are snapshotted instead.
import type { HubClient } from "../hub/hubClient.js";
import type { ReceivedEventLike } from "../hub/hubNotifications.js";
import type { ManagedConfiguration } from "../scheduler/schedulerContract.js";
import { DeviceCache } from "./deviceCache.js";
import { joinStates, type DeviceState } from "./deviceState.js";
import { FleetTracker } from "./fleetStatus.js";
import { samePart, withoutBase } from "./fleetSum.js";
import type { HubFill } from "./hubFill.js";
import { readHubEvents } from "./readHubEvents.js";
import type { RolloutBucketTagger } from "./rolloutBucketTagger.js";
import type { FleetStatus } from "./statusContract.js";
import type { DeviceCounts, DeviceRecord, PartitionRow, StatusStore, StoredRecords } from "./statusStore.js";

/** Journal entries kept before the device states are snapshotted. */
export const JOURNAL_LIMIT = 64;
/** Devices that missed a change read again from the hub after a batch, at most. */
export const STALE_REFRESHES_PER_BATCH = 5;

export interface BatchResult {
  notifications: number;
  malformed: number;
  changedDevices: number;
  /** this partition's parts that changed */
  changedStatuses: FleetStatus[];
}

/** A batch applied to the device states and its journal entry stored, its row not yet written. */
export interface StagedBatch {
  notifications: number;
  malformed: number;
  /** the devices the batch changed or first brought */
  devices: string[];
  changedDevices: number;
}

export interface PartitionContext {
  hub: string;
  partitionId: string;
  store: StatusStore;
  fill: HubFill;
  hubClient: () => HubClient;
  warn: (message: string) => void;
  /** queues the rollout bucket tag of devices seen without it (the batch does not wait for it) */
  tagger: RolloutBucketTagger;
}

function sameCounts(a: DeviceCounts, b: DeviceCounts): boolean {
  return a.total === b.total && a.connected === b.connected;
}

export class PartitionStatus {
  /** batches and configuration changes, one at a time */
  private last: Promise<unknown> = Promise.resolve();
  private readonly seen: FleetTracker;
  private readonly based: FleetTracker;
  /** journal entries stored (their states in the cache) that no row written names yet */
  private pending: StoredRecords[] = [];

  private constructor(
    private readonly context: PartitionContext,
    /** the partition's devices as events left them */
    readonly cache: DeviceCache,
    /** the filled states of the partition's filled devices: what it subtracts */
    private readonly base: DeviceCache,
    /** filled devices deleted since: still subtracted, since the fill row still counts them */
    private readonly deletedFilled: Set<string>,
    private row: PartitionRow,
    private etag: string | undefined,
  ) {
    this.seen = new FleetTracker(context.hub, cache);
    this.based = new FleetTracker(context.hub, base);
  }

  get partitionId(): string {
    return this.context.partitionId;
  }

  private serially<T>(work: () => Promise<T>): Promise<T> {
    const next = this.last.then(work, work);
    this.last = next.catch(() => undefined);
    return next;
  }

  /**
   * Loads the partition from the table (its snapshot and journal). A partition last written against
   * another fill (the reconcile filled the hub again) is moved onto this one and written back at once.
   */
  static async load(
    context: PartitionContext,
    managed: readonly ManagedConfiguration[],
  ): Promise<PartitionStatus> {
    const { store, hub, partitionId, fill } = context;
    const stored = await store.readPartitionRow(hub, partitionId);
    const row: PartitionRow = stored?.value ?? {
      partitionId,
      serial: 0,
      fillId: fill.id,
      journal: [],
      statuses: {},
      devices: { total: 0, connected: 0 },
    };
    const cache = new DeviceCache();
    const deletedFilled = new Set<string>();
    for (const record of await store.readDeviceRecords(hub, row)) {
      if ("put" in record) {
        cache.put(record.put);
        deletedFilled.delete(record.put.deviceId);
      } else {
        cache.remove(record.deleted);
        deletedFilled.add(record.deleted);
      }
    }
    const rebased = row.fillId !== fill.id;
    if (rebased) {
      for (const state of [...cache.all()]) {
        const reread = fill.states.get(state.deviceId);
        if (reread) cache.put(joinStates(state, reread));
      }
      for (const deviceId of [...deletedFilled]) {
        const reread = fill.states.get(deviceId);
        if (reread) cache.put(structuredClone(reread));
      }
    }
    for (const deviceId of [...deletedFilled])
      if (!fill.states.has(deviceId) || cache.get(deviceId)) deletedFilled.delete(deviceId);
    const base = new DeviceCache(
      [...cache.all()]
        .map((s) => s.deviceId)
        .concat([...deletedFilled])
        .flatMap((id) => fill.states.get(id) ?? []),
    );
    const partition = new PartitionStatus(
      context,
      cache,
      base,
      deletedFilled,
      { ...row, fillId: fill.id },
      stored?.etag,
    );
    partition.seen.setConfigurations(managed);
    partition.based.setConfigurations(managed);
    partition.dropGoneConfigurations(managed);
    if (rebased) await partition.commit(true);
    context.tagger.enqueue(cache.all()); // whatever an earlier holder left untagged
    return partition;
  }

  setConfigurations(managed: readonly ManagedConfiguration[]): Promise<FleetStatus[]> {
    return this.serially(async () => {
      this.seen.setConfigurations(managed);
      this.based.setConfigurations(managed);
      const dropped = this.dropGoneConfigurations(managed);
      return this.commit(false, dropped);
    });
  }

  private dropGoneConfigurations(managed: readonly ManagedConfiguration[]): boolean {
    const ids = new Set(managed.map((c) => c.id));
    const gone = Object.keys(this.row.statuses).filter((id) => !ids.has(id));
    if (gone.length === 0) return false;
    const statuses = { ...this.row.statuses };
    for (const id of gone) delete statuses[id];
    this.row = { ...this.row, statuses };
    return true;
  }

  /** Applies a batch of the partition's events and stores what changed. */
  async processEvents(events: readonly ReceivedEventLike[]): Promise<BatchResult> {
    return this.finish(await this.stage(events));
  }

  /**
   * The first half of a batch, which needs no configurations: applies the events to the device
   * states and stores them as a journal entry. The row naming the entry is written by the next
   * commit (`finish`, or a configuration change that comes first).
   */
  stage(events: readonly ReceivedEventLike[]): Promise<StagedBatch> {
    return this.serially(async () => {
      const read = readHubEvents(events, this.context.warn);
      const seeded: string[] = [];
      for (const { deviceId } of read.notifications) {
        if (this.cache.get(deviceId) || this.deletedFilled.has(deviceId)) continue;
        const filled = this.context.fill.states.get(deviceId);
        if (!filled || this.base.get(deviceId)) continue;
        this.cache.put(structuredClone(filled));
        this.base.put(filled);
        seeded.push(deviceId);
      }
      // a seeded device counts once in each tracker, whether or not the event then changes it
      this.seen.devicesChanged(seeded);
      this.based.devicesChanged(seeded);
      const changed = this.cache.apply(read.notifications);
      await this.storeRecords(this.recordsOf(changed));
      return {
        notifications: read.notifications.length,
        malformed: read.malformed,
        devices: [...new Set([...changed, ...seeded])],
        changedDevices: changed.size,
      };
    });
  }

  /** The second half: the parts against the configurations now set, and the row. */
  finish(staged: StagedBatch): Promise<BatchResult> {
    return this.serially(async () => {
      const changedStatuses = await this.commit();
      await this.refreshStale();
      this.context.tagger.enqueue(this.statesOf(staged.devices));
      const { notifications, malformed, changedDevices } = staged;
      return { notifications, malformed, changedDevices, changedStatuses };
    });
  }

  private *statesOf(deviceIds: Iterable<string>): Generator<DeviceState> {
    for (const deviceId of deviceIds) {
      const state = this.cache.get(deviceId);
      if (state) yield state;
    }
  }

  private recordsOf(deviceIds: Iterable<string>): DeviceRecord[] {
    const records: DeviceRecord[] = [];
    for (const deviceId of deviceIds) {
      const state = this.cache.get(deviceId);
      if (state) {
        this.deletedFilled.delete(deviceId);
        records.push({ put: state });
      } else {
        if (this.base.get(deviceId)) this.deletedFilled.add(deviceId);
        records.push({ deleted: deviceId });
      }
    }
    this.seen.devicesChanged(records.map((r) => ("put" in r ? r.put.deviceId : r.deleted)));
    return records;
  }

  /** Devices whose events skipped a version are read again from the hub (a few per batch; the next batches do the rest). */
  private async refreshStale(): Promise<void> {
    const stale = this.cache.staleDevices().slice(0, STALE_REFRESHES_PER_BATCH);
    if (stale.length === 0) return;
    const refreshed: string[] = [];
    try {
      for (const deviceId of stale) {
        await this.cache.refresh(this.context.hubClient(), deviceId);
        refreshed.push(deviceId);
      }
    } catch (error) {
      this.context.warn(
        `partition ${this.partitionId}: reading devices that missed a change failed: ${error instanceof Error ? error.message : String(error)}`,
      );
    }
    if (refreshed.length > 0) {
      await this.storeRecords(this.recordsOf(refreshed));
      await this.commit();
    }
  }

  /** Stores changed device states as a journal entry that the next row written names. */
  private async storeRecords(records: DeviceRecord[]): Promise<void> {
    if (records.length === 0) return;
    const { store, hub, partitionId } = this.context;
    const serial = this.row.serial + 1 + this.pending.length;
    this.pending.push(await store.appendJournal(hub, partitionId, serial, records));
  }

  /**
   * Recomputes the parts the last changes touched and, when anything changed, writes the row naming
   * the entries stored since the last one (a snapshot instead once the journal is long, or when
   * `snapshot` says so).
   */
  private async commit(snapshot = false, partsChanged = false): Promise<FleetStatus[]> {
    const { store, hub, partitionId, warn } = this.context;
    const touched = new Set([...this.seen.update(), ...this.based.update()].map((s) => s.configurationId));
    const serial = this.row.serial + 1;
    const statuses = { ...this.row.statuses };
    const changedStatuses: FleetStatus[] = [];
    for (const id of touched) {
      const seen = this.seen.status(id);
      if (!seen) continue;
      const part = withoutBase(seen, this.based.status(id));
      if (samePart(part, statuses[id])) continue;
      statuses[id] = { ...part, version: serial };
      changedStatuses.push(statuses[id]);
    }
    const own = this.cache.counts();
    const filled = this.base.counts();
    const devices = { total: own.total - filled.total, connected: own.connected - filled.connected };
    const changed =
      snapshot ||
      partsChanged ||
      this.pending.length > 0 ||
      changedStatuses.length > 0 ||
      !sameCounts(devices, this.row.devices);
    if (!changed) return [];

    const next: PartitionRow = { ...this.row, serial, statuses, devices };
    let obsolete: StoredRecords[] = [];
    if (snapshot || this.row.journal.length + this.pending.length > JOURNAL_LIMIT) {
      next.snapshot = await store.writeSnapshot(hub, partitionId, this.allRecords());
      next.journal = [];
      obsolete = [...(this.row.snapshot ? [this.row.snapshot] : []), ...this.row.journal, ...this.pending];
    } else {
      next.journal = [...this.row.journal, ...this.pending];
    }
    this.etag = await store.writePartitionRow(hub, next, this.etag);
    this.row = next;
    this.pending = [];
    if (obsolete.length > 0) {
      // Entries a failed write left behind go with them; neither is named by any row any more.
      const leftovers = await store.unreferencedRecords(hub, next).catch(() => obsolete);
      await store.deleteRecords(hub, partitionId, leftovers).catch((error: unknown) => {
        warn(
          `partition ${partitionId}: old device records stay: ${error instanceof Error ? error.message : String(error)}`,
        );
      });
    }
    return changedStatuses;
  }

  private allRecords(): DeviceRecord[] {
    return [
      ...[...this.cache.all()].map((state): DeviceRecord => ({ put: state })),
      ...[...this.deletedFilled].map((deviceId): DeviceRecord => ({ deleted: deviceId })),
    ];
  }

  /** The partition's states (for tests and diagnostics). */
  devices(): DeviceState[] {
    return [...this.cache.all()];
  }
}
