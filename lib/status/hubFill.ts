// The hub's fill: every IoT Edge device's state read from the hub's twins with two paged queries,
// once per hub (and again when the reconcile timer repairs a status that stayed wrong). Partitions
// learn their devices from events, so the fill stands for the devices no partition has reported on:
// the fill row counts every filled device, and a partition that takes a filled device over
// subtracts its filled state (fleetSum.ts). One instance fills while the others wait: the fill row
// is created as a lock first, renewed while the instance fills and released if it fails; a lock not
// renewed for FILL_LOCK_MS (its instance died) is taken over.
import { randomUUID } from "node:crypto";
import type { HubClient } from "../hub/hubClient.js";
import type { ManagedConfiguration } from "../scheduler/schedulerContract.js";
import { DeviceCache } from "./deviceCache.js";
import type { DeviceState } from "./deviceState.js";
import { FleetTracker } from "./fleetStatus.js";
import { additiveOnly, samePart } from "./fleetSum.js";
import type { FleetStatus } from "./statusContract.js";
import { StatusConflict, type FillRow, type StatusStore, type Versioned } from "./statusStore.js";

/** How long a fill lock holds without being renewed before another instance takes it over. */
export const FILL_LOCK_MS = 30_000;
/** The filling instance renews its lock this often (a fill of 10,000 devices takes its 20 queries' time). */
const FILL_LOCK_RENEW_MS = 5_000;
const LOCK_POLL_MS = 500;

export interface HubFill {
  id: string;
  filledAt: string;
  states: ReadonlyMap<string, DeviceState>;
}

/** A stable name of the configurations as they bear on counts (what the fill row's parts were computed for). */
export function configurationsKey(managed: readonly ManagedConfiguration[]): string {
  return JSON.stringify(
    [...managed]
      .map((c) => [c.id, c.kind, c.targetCondition, c.priority, Object.keys(c.modules).sort()])
      .sort(),
  );
}

function fillFrom(row: FillRow, states: readonly DeviceState[]): HubFill {
  return {
    id: row.fillId!,
    filledAt: row.filledAt!,
    states: new Map(states.map((state) => [state.deviceId, state])),
  };
}

export interface FillOptions {
  hub: string;
  store: StatusStore;
  hubClient: () => HubClient;
  now: () => Date;
  /** the fill this process already holds, reused when the row still names it */
  known?: HubFill;
  /** longest wait for another instance's fill */
  maxWaitMs?: number;
}

/** Runs `work` while renewing the fill lock in `lock` (whose ETag the renewals keep current). */
async function renewingLock<T>(
  options: FillOptions,
  lock: Versioned<FillRow>,
  work: () => Promise<T>,
): Promise<T> {
  const { hub, store, now } = options;
  let renewing = Promise.resolve();
  const timer = setInterval(() => {
    renewing = renewing
      .then(async () => {
        const value: FillRow = {
          ...lock.value,
          filling: { ...lock.value.filling!, since: now().toISOString() },
        };
        lock.etag = await store.writeFillRow(hub, value, lock.etag);
        lock.value = value;
      })
      .catch(() => undefined); // taken over: the fill's own write will fail on the ETag
  }, FILL_LOCK_RENEW_MS);
  try {
    return await work();
  } finally {
    clearInterval(timer);
    await renewing;
  }
}

/** Reads the device states from the hub and publishes them as the hub's fill (the row must still have `current.etag`). */
async function fillFromHub(options: FillOptions, current: Versioned<FillRow>): Promise<HubFill> {
  const { hub, store, now } = options;
  const read = async () => {
    const cache = await DeviceCache.fromHub(options.hubClient());
    return { cache, stored: await store.writeFillStates(hub, [...cache.all()]) };
  };
  const { cache, stored } = current.value.filling ? await renewingLock(options, current, read) : await read();
  const states = [...cache.all()];
  const row: FillRow = {
    serial: current.value.serial + 1,
    fillId: stored.key,
    filledAt: now().toISOString(),
    states: stored,
    // computed for the configurations by the first instance that knows them (FillParts.publish)
    configurationsKey: "",
    statuses: {},
    devices: cache.counts(),
  };
  try {
    await store.writeFillRow(hub, row, current.etag);
  } catch (error) {
    await store.deleteRecords(hub, undefined, [stored]).catch(() => undefined);
    throw error;
  }
  return fillFrom(row, states);
}

/** Lets the next attempt (this instance's retry or another's) fill at once after a failed fill. */
async function releaseLock(store: StatusStore, hub: string, by: string): Promise<void> {
  try {
    const current = await store.readFillRow(hub);
    if (current?.value.filling?.by === by) {
      const { filling: _released, ...rest } = current.value;
      await store.writeFillRow(hub, rest, current.etag);
    }
  } catch {
    // it expires anyway
  }
}

/** The hub's fill: loaded from the table, or read from the hub by this instance when none exists yet. */
export async function openFill(options: FillOptions): Promise<HubFill> {
  const { hub, store, now } = options;
  const maxWaitMs = options.maxWaitMs ?? 60_000;
  const started = now().getTime();
  for (;;) {
    const current = await store.readFillRow(hub);
    const row = current?.value;
    if (row?.fillId !== undefined && row.states !== undefined) {
      if (options.known?.id === row.fillId) return options.known;
      return fillFrom(row, await store.readFillStates(hub, row.states));
    }
    const lock = { by: randomUUID(), since: now().toISOString() };
    const lockedSince = row?.filling ? Date.parse(row.filling.since) : undefined;
    if (lockedSince === undefined || now().getTime() - lockedSince > FILL_LOCK_MS) {
      const locked: FillRow = row
        ? { ...row, filling: lock }
        : {
            serial: 0,
            configurationsKey: "",
            statuses: {},
            devices: { total: 0, connected: 0 },
            filling: lock,
          };
      try {
        const etag = await store.writeFillRow(hub, locked, current?.etag);
        return await fillFromHub(options, { value: locked, etag }).catch(async (error: unknown) => {
          await releaseLock(store, hub, lock.by);
          throw error;
        });
      } catch (error) {
        if (!(error instanceof StatusConflict)) throw error;
        continue; // another instance locked first: wait for its fill
      }
    }
    if (now().getTime() - started > maxWaitMs)
      throw new Error(
        `hub "${hub}": another instance has been filling the device states since ${row!.filling!.since}`,
      );
    await new Promise((resolve) => setTimeout(resolve, LOCK_POLL_MS));
  }
}

/** Reads the hub's twins again into a new fill that replaces the current one (the reconcile's repair). */
export async function refillFromHub(options: FillOptions): Promise<{ fill: HubFill; replaced?: FillRow }> {
  const current = await options.store.readFillRow(options.hub);
  if (!current?.value.fillId) return { fill: await openFill(options) };
  return { fill: await fillFromHub(options, current), replaced: current.value };
}

/** The fill row's parts for the configurations this process knows: computed over the filled states. */
export class FillParts {
  private readonly tracker: FleetTracker;
  private key = "";

  constructor(
    readonly fill: HubFill,
    private readonly store: StatusStore,
    private readonly hub: string,
  ) {
    this.tracker = new FleetTracker(hub, new DeviceCache(fill.states.values()));
  }

  /**
   * Writes the parts unless the row already holds them for these configurations (another instance
   * wrote them). False when the row holds the parts of a newer scheduler view (`revision`): `managed`
   * is out of date, and the row is left as it is.
   */
  async publish(managed: readonly ManagedConfiguration[], revision?: number): Promise<boolean> {
    const key = configurationsKey(managed);
    if (key !== this.key) {
      this.tracker.setConfigurations(managed);
      this.tracker.update();
      this.key = key;
    }
    for (let attempt = 0; attempt < 5; attempt += 1) {
      const current = await this.store.readFillRow(this.hub);
      if (!current || current.value.fillId !== this.fill.id) return true; // refilled meanwhile: its writer computes
      if (current.value.configurationsKey === key) return true;
      const written = current.value.configurationsRevision;
      if (written !== undefined && revision !== undefined && written > revision) return false;
      const serial = current.value.serial + 1;
      const statuses: Record<string, FleetStatus> = {};
      for (const configuration of managed) {
        const computed = this.tracker.status(configuration.id);
        if (!computed) continue;
        const part = additiveOnly(computed);
        const previous = current.value.statuses[configuration.id];
        statuses[configuration.id] = samePart(part, previous) ? previous! : { ...part, version: serial };
      }
      try {
        await this.store.writeFillRow(
          this.hub,
          {
            ...current.value,
            serial,
            configurationsKey: key,
            ...(revision !== undefined && { configurationsRevision: revision }),
            statuses,
          },
          current.etag,
        );
        return true;
      } catch (error) {
        if (!(error instanceof StatusConflict)) throw error;
      }
    }
    // Thrown, not dropped: the caller's batch is retried, and counts without these parts would stay wrong.
    throw new StatusConflict(`hub "${this.hub}": the fill row kept changing while its parts were written`);
  }
}
