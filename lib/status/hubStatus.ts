// One hub's status pipeline, as the eventHub trigger and the reconcile timer use it: the device
// cache (loaded from the status table, or filled from the hub once), the fleet tracker over the
// scheduler's managed configurations, and persistence of what changed after each batch.
import type { HubClient } from "../hub/hubClient.js";
import type { ReceivedEventLike } from "../hub/hubNotifications.js";
import type { HubSchedulerView } from "../scheduler/schedulerContract.js";
import { DeviceCache } from "./deviceCache.js";
import { FleetTracker } from "./fleetStatus.js";
import { readHubEvents } from "./readHubEvents.js";
import type { FleetStatus } from "./statusContract.js";
import type { HubBookkeeping, StatusStore } from "./statusStore.js";

export interface HubStatusOptions {
  hub: string;
  store: StatusStore;
  /** the hub, for the one-time fill and for refreshing devices that missed a change */
  hubClient: () => HubClient;
  now?: () => Date;
  warn?: (message: string) => void;
}

export interface BatchResult {
  notifications: number;
  malformed: number;
  changedDevices: number;
  changedStatuses: FleetStatus[];
}

export class HubStatus {
  private configurationIds: Iterable<string> | undefined;
  /**
   * The trigger runs a batch per partition concurrently (and the reconcile timer beside them): each
   * change and the write of what it computed run one at a time, so an older fleet status can never
   * be stored over a newer one.
   */
  private last: Promise<unknown> = Promise.resolve();

  private serially<T>(work: () => Promise<T>): Promise<T> {
    const next = this.last.then(work, work);
    this.last = next.catch(() => undefined);
    return next;
  }

  private constructor(
    private readonly options: Required<HubStatusOptions>,
    readonly cache: DeviceCache,
    readonly fleet: FleetTracker,
    private readonly bookkeeping: HubBookkeeping,
  ) {}

  /** Loads the hub's cache from the table; the first time ever, fills it from the hub with paged queries. */
  static async open(options: HubStatusOptions): Promise<HubStatus> {
    const full: Required<HubStatusOptions> = { now: () => new Date(), warn: () => {}, ...options };
    const { hub, store } = full;
    const bookkeeping = await store.bookkeeping(hub);
    let cache: DeviceCache;
    if (bookkeeping.filledAt !== undefined) {
      cache = new DeviceCache(await store.loadDevices(hub));
    } else {
      cache = await DeviceCache.fromHub(full.hubClient());
      await store.saveDevices(hub, [...cache.all()]);
      bookkeeping.filledAt = full.now().toISOString();
      await store.saveBookkeeping(hub, bookkeeping);
    }
    const storedVersions = (await store.allFleetStatuses(hub)).map((status) => status.version);
    const fleet = new FleetTracker(
      hub,
      cache,
      full.now,
      Math.max(bookkeeping.fleetVersion, ...storedVersions),
    );
    return new HubStatus(full, cache, fleet, bookkeeping);
  }

  /** Takes the scheduler's managed configurations; statuses of configurations it no longer has are deleted. */
  setConfigurations(view: HubSchedulerView | undefined): Promise<FleetStatus[]> {
    return this.serially(() => this.takeConfigurations(view));
  }

  private async takeConfigurations(view: HubSchedulerView | undefined): Promise<FleetStatus[]> {
    const { hub, store } = this.options;
    const managed = Object.values(view?.configurations ?? {});
    const current = new Set(managed.map((configuration) => configuration.id));
    // The first time, what the table holds; then what this process last had.
    const previous =
      this.configurationIds ?? (await store.allFleetStatuses(hub)).map((status) => status.configurationId);
    const gone = [...previous].filter((id) => !current.has(id));
    this.configurationIds = current;
    this.fleet.setConfigurations(managed);
    if (gone.length > 0) {
      await store.deleteFleetStatuses(hub, gone);
      // the deleted statuses' versions stay a floor for the versions handed out next
      await store.saveBookkeeping(hub, this.bookkeeping);
    }
    return this.persist([]);
  }

  /** Applies a batch of events from the hub's endpoint and stores what changed. */
  processEvents(events: readonly ReceivedEventLike[]): Promise<BatchResult> {
    return this.serially(() => this.applyEvents(events));
  }

  private async applyEvents(events: readonly ReceivedEventLike[]): Promise<BatchResult> {
    const read = readHubEvents(events, this.options.warn);
    const changed = this.cache.apply(read.notifications);
    this.fleet.devicesChanged(changed);
    const changedStatuses = await this.persist([...changed]);
    return {
      notifications: read.notifications.length,
      malformed: read.malformed,
      changedDevices: changed.size,
      changedStatuses,
    };
  }

  /** Reads again (two twin reads each) at most `limit` devices that missed a change; returns how many. */
  refreshDevices(deviceIds: readonly string[], limit: number): Promise<number> {
    return this.serially(async () => {
      const chosen = deviceIds.slice(0, limit);
      for (const deviceId of chosen) await this.cache.refresh(this.options.hubClient(), deviceId);
      this.fleet.devicesChanged(chosen);
      await this.persist(chosen);
      return chosen.length;
    });
  }

  /** Stores the changed devices (deleted ones are removed) and the recomputed fleet statuses. */
  private async persist(deviceIds: readonly string[]): Promise<FleetStatus[]> {
    const { hub, store } = this.options;
    const present = deviceIds.flatMap((id) => this.cache.get(id) ?? []);
    const deleted = deviceIds.filter((id) => this.cache.get(id) === undefined);
    const statuses = this.fleet.update();
    // Different partitions: no order between them. The versions need no bookkeeping write here: a
    // reopened pipeline continues from the highest stored status version.
    await Promise.all([
      present.length > 0 ? store.saveDevices(hub, present) : undefined,
      deleted.length > 0 ? store.deleteDevices(hub, deleted) : undefined,
      statuses.length > 0 ? store.saveFleetStatuses(hub, statuses) : undefined,
    ]);
    this.bookkeeping.fleetVersion = this.fleet.version;
    return statuses;
  }

  /** Shows the hub's targeted/applied counts in a configuration's status and stores it. */
  useHubMetrics(configurationId: string, counts: { targeted: number; applied: number }): Promise<void> {
    return this.serially(async () => {
      const status = this.fleet.useHubMetrics(configurationId, counts);
      if (!status) return;
      await this.options.store.saveFleetStatuses(this.options.hub, [status]);
      this.bookkeeping.fleetVersion = this.fleet.version;
    });
  }

  get drift(): HubBookkeeping["driftSince"] {
    return this.bookkeeping.driftSince;
  }

  async saveBookkeeping(): Promise<void> {
    await this.options.store.saveBookkeeping(this.options.hub, this.bookkeeping);
  }
}
