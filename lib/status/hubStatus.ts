// One hub's status pipeline in one app instance: the hub's fill (read from the hub once, by one
// instance), the scheduler's managed configurations, and the partitions this instance reads,
// each loaded from the table when its first batch arrives (partitionStatus.ts). Other instances
// hold the other partitions; the table holds every partition's parts, and readers sum them.
import type { HubClient } from "../hub/hubClient.js";
import type { ReceivedEventLike } from "../hub/hubNotifications.js";
import type { HubSchedulerView, ManagedConfiguration } from "../scheduler/schedulerContract.js";
import { configurationsKey, FillParts, openFill, refillFromHub, type HubFill } from "./hubFill.js";
import { PartitionStatus, type BatchResult } from "./partitionStatus.js";
import { BUCKET_WRITES_PER_RECONCILE, RolloutBucketTagger } from "./rolloutBucketTagger.js";
import type { FleetStatus } from "./statusContract.js";
import { StatusConflict, type StatusStore } from "./statusStore.js";

export type { BatchResult } from "./partitionStatus.js";

export interface HubStatusOptions {
  hub: string;
  store: StatusStore;
  /** the hub, for the fill and for reading devices that missed a change */
  hubClient: () => HubClient;
  now?: () => Date;
  warn?: (message: string) => void;
  /** a fill this process already loaded (reused when the table still names it) */
  knownFill?: HubFill;
}

/**
 * A batch failed in its own partition's work (loading, storing, a row another instance changed):
 * that partition was let go and is loaded again at its next batch; the rest of the hub's status,
 * the other partitions' included, is as stored. `cause` is what failed.
 */
export class PartitionBatchFailed extends Error {
  constructor(
    readonly partitionId: string,
    override readonly cause: unknown,
  ) {
    super(cause instanceof Error ? cause.message : String(cause), { cause });
  }
}

export class HubStatus {
  private managed: readonly ManagedConfiguration[] = [];
  private key: string | undefined;
  /** the revision of the scheduler view `managed` came from */
  private revision: number | undefined;
  private readonly partitions = new Map<string, Promise<PartitionStatus>>();
  private fillParts: FillParts;
  /** configuration changes and refills, one at a time */
  private last: Promise<unknown> = Promise.resolve();
  private readonly tagger: RolloutBucketTagger;

  private constructor(
    private readonly options: Required<Omit<HubStatusOptions, "knownFill">>,
    private fill: HubFill,
  ) {
    this.fillParts = new FillParts(fill, options.store, options.hub);
    this.tagger = new RolloutBucketTagger(options.hubClient, options.warn);
  }

  /** Loads the hub's fill from the table; the first time ever, one instance reads it from the hub. */
  static async open(options: HubStatusOptions): Promise<HubStatus> {
    const full = { now: () => new Date(), warn: () => {}, ...options };
    const fill = await openFill({ ...full, ...(options.knownFill && { known: options.knownFill }) });
    return new HubStatus(full, fill);
  }

  get hub(): string {
    return this.options.hub;
  }

  get store(): StatusStore {
    return this.options.store;
  }

  get currentFill(): HubFill {
    return this.fill;
  }

  private serially<T>(work: () => Promise<T>): Promise<T> {
    const next = this.last.then(work, work);
    this.last = next.catch(() => undefined);
    return next;
  }

  private partition(partitionId: string): Promise<PartitionStatus> {
    let partition = this.partitions.get(partitionId);
    if (!partition) {
      partition = PartitionStatus.load(
        {
          hub: this.options.hub,
          partitionId,
          store: this.options.store,
          fill: this.fill,
          hubClient: this.options.hubClient,
          warn: this.options.warn,
          tagger: this.tagger,
        },
        this.managed,
      );
      partition.catch(() => this.partitions.delete(partitionId));
      this.partitions.set(partitionId, partition);
    }
    return partition;
  }

  /** A view read before the one applied: applying it would take back what the newer one added. */
  private isOlder(revision: number | undefined): boolean {
    return revision !== undefined && this.revision !== undefined && revision < this.revision;
  }

  /**
   * Takes the scheduler's managed configurations (cheap when they did not change). Views read at
   * different moments may arrive out of order: one older than the view applied is ignored.
   */
  setConfigurations(view: HubSchedulerView | undefined): Promise<void> {
    const managed = Object.values(view?.configurations ?? {});
    const key = configurationsKey(managed);
    const revision = view?.revision;
    const nothingNew = (revision === undefined || (this.revision ?? 0) >= revision) && key === this.key;
    if (nothingNew || this.isOlder(revision)) return Promise.resolve();
    return this.serially(async () => {
      if (this.isOlder(revision)) return;
      if (key !== this.key) {
        if (!(await this.fillParts.publish(managed, revision))) return; // another instance applied a newer view
        for (const [partitionId, partition] of this.partitions)
          await this.moveToConfigurations(partitionId, await partition, managed);
        this.managed = managed;
        this.key = key;
      }
      this.revision = revision ?? this.revision;
    });
  }

  /**
   * A partition's parts counted again for new configurations. Its row changed by another writer:
   * the partition moved to another instance (which applies the configurations itself), so this one
   * lets it go; a batch of it here later loads it again from the table.
   */
  private async moveToConfigurations(
    partitionId: string,
    partition: PartitionStatus,
    managed: readonly ManagedConfiguration[],
  ): Promise<void> {
    try {
      await partition.setConfigurations(managed);
    } catch (error) {
      if (!(error instanceof StatusConflict)) throw error;
      this.partitions.delete(partitionId);
    }
  }

  /**
   * Applies a batch of one partition's events and stores what changed. With `view` (a scheduler view
   * being read for the batch) the device states are stored while it is read, and the parts are
   * counted against it once it is applied.
   */
  async processEvents(
    partitionId: string,
    events: readonly ReceivedEventLike[],
    view?: Promise<HubSchedulerView | undefined>,
  ): Promise<BatchResult> {
    await this.last; // a configuration change in progress first
    const opening = this.partition(partitionId);
    const failed = (error: unknown) => {
      if (this.partitions.get(partitionId) === opening) this.partitions.delete(partitionId);
      return new PartitionBatchFailed(partitionId, error);
    };
    const partition = await opening.catch((error: unknown) => Promise.reject(failed(error)));
    if (!view)
      return partition.processEvents(events).catch((error: unknown) => Promise.reject(failed(error)));
    const [staged, applied] = await Promise.allSettled([
      partition.stage(events),
      view.then((read) => this.setConfigurations(read)),
    ]);
    if (applied.status === "rejected") throw applied.reason; // the hub's part: not the partition's alone
    if (staged.status === "rejected") throw failed(staged.reason);
    return partition.finish(staged.value).catch((error: unknown) => Promise.reject(failed(error)));
  }

  /**
   * Writes the rollout bucket tag of devices without one that no partition heard of (partitions tag
   * the ones they hear of): one twin query page and at most `limit` twin updates. Returns how many.
   */
  bucketQuietDevices(limit = BUCKET_WRITES_PER_RECONCILE): Promise<number> {
    return this.tagger.tagUnbucketed(limit);
  }

  /** The stored statuses of every configuration, summed over all instances' partitions. */
  storedStatuses(): Promise<FleetStatus[]> {
    return this.options.store.allFleetStatuses(this.options.hub);
  }

  /**
   * Reads the hub's twins again into a new fill, and moves every stored partition onto it: each
   * device state the partition holds is joined with the twins' (the newer version wins), so nothing
   * the events brought since is lost. The instances reading those partitions find their rows changed
   * at their next write and load them again.
   */
  refill(): Promise<void> {
    return this.serially(async () => {
      const { hub, store } = this.options;
      const { fill, replaced } = await refillFromHub({ ...this.options, known: this.fill });
      this.fill = fill;
      this.fillParts = new FillParts(fill, store, hub);
      await this.fillParts.publish(this.managed, this.revision); // false: the next view brings it up to date
      this.partitions.clear();
      for (const row of (await store.fleetRows(hub)).partitions) {
        for (let attempt = 0; attempt < 3; attempt += 1) {
          try {
            await this.partition(row.partitionId);
            break;
          } catch (error) {
            if (!(error instanceof StatusConflict)) throw error;
            this.partitions.delete(row.partitionId);
          }
        }
      }
      // This instance reads partitions of its own only through the trigger: load them again then.
      this.partitions.clear();
      if (replaced?.states)
        await store.deleteRecords(hub, undefined, [replaced.states]).catch((error: unknown) => {
          this.options.warn(
            `old fill of ${hub} stays: ${error instanceof Error ? error.message : String(error)}`,
          );
        });
    });
  }
}
