// Where the status pipeline keeps its state, for the app's other instances and for the HTTP API:
// one Azure Table (`connectorstatus` on AzureWebJobsStorage).
//
//   fleet|<hub>            p|<partition>  a partition's row: its parts of every fleet status, its part
//                                         of the device counts, and where its device states are
//                         fill           the fill's row: the parts of the devices filled from the hub's
//                                         twins (and, while one instance fills, who does)
//   devices|<hub>|<part.>  e|<entry>|<n>  journal entries: device states a batch changed
//                         s|<snap.>|<n>  a snapshot of the partition's device states
//   fill|<hub>             <fill>|<n>     the device states read from the hub's twins
//   hub|<hub>              reconcile      the reconcile timer's bookkeeping
//
// Readers sum the fleet rows (one partition query, fleetSum.ts). Each row is written with its ETag:
// a writer whose row changed since it read it gets a StatusConflict and starts again from the table.
import { randomUUID } from "node:crypto";
import { RestError, type TableClient, type TableEntity, type TransactionAction } from "@azure/data-tables";
import { entitySizedParts, fromJsonProperties, jsonProperties } from "../storage/chunkedJson.js";
import { LazyTable } from "../storage/lazyTable.js";
import type { StorageConnection } from "../storage/storageConnection.js";
import type { TokenCredential } from "@azure/core-auth";
import type { DeviceState } from "./deviceState.js";
import { sumFleetStatus, sumFleetStatuses, type FleetPartsRow } from "./fleetSum.js";
import type { FleetStatus } from "./statusContract.js";

export const statusTableName = "connectorstatus";
/** Entity group transactions take at most 100 operations, all in one partition. */
const TRANSACTION_SIZE = 100;

export interface DeviceCounts {
  total: number;
  connected: number;
}

/** A partition's row: its parts and where its device states are (a snapshot, then journal entries). */
export interface PartitionRow extends FleetPartsRow {
  partitionId: string;
  /** the fill the partition's device states were based on (its filled devices are subtracted from) */
  fillId: string;
  snapshot?: StoredRecords;
  journal: StoredRecords[];
  devices: DeviceCounts;
}

/** The fill's row: the filled devices' parts, computed for the configurations named by `configurationsKey`. */
export interface FillRow extends FleetPartsRow {
  fillId?: string;
  filledAt?: string;
  states?: StoredRecords;
  /** an instance filling (a lock; taken over once `since` is old) */
  filling?: { by: string; since: string };
  configurationsKey: string;
  /** the scheduler view's revision the parts were computed for (hubStatus.ts) */
  configurationsRevision?: number;
  devices: DeviceCounts;
}

export interface ReconcileBookkeeping {
  /** configuration id → since when (ISO) the hub's metrics have disagreed with the stored status */
  driftSince: Record<string, string>;
  /** when the reconcile last filled the hub again (ISO) */
  refilledAt?: string;
}

/** Records written under one key, over `rows` entities. */
export interface StoredRecords {
  key: string;
  rows: number;
}

/** A change to a partition's device states: a device's new state, or a filled device deleted. */
export type DeviceRecord = { put: DeviceState } | { deleted: string };

export interface Versioned<T> {
  value: T;
  etag: string;
}

/** The row changed since it was read (412), or was created by another writer (409). */
export class StatusConflict extends Error {}

/** Row keys may not hold / \ # ? or control characters; device ids and partition ids may. */
function keyPart(id: string): string {
  return encodeURIComponent(id);
}

function literal(value: string): string {
  return `'${value.replace(/'/g, "''")}'`;
}

function isStatus(error: unknown, ...codes: number[]): boolean {
  return error instanceof RestError && codes.includes(error.statusCode ?? 0);
}

const pad = (n: number, width: number) => String(n).padStart(width, "0");
const fleetPartition = (hub: string) => `fleet|${hub}`;
const devicesPartition = (hub: string, partitionId: string) => `devices|${hub}|${keyPart(partitionId)}`;
const partitionRowKey = (partitionId: string) => `p|${keyPart(partitionId)}`;

type JsonEntity = TableEntity<Record<string, unknown>>;

export class StatusStore {
  constructor(private readonly table: LazyTable) {}

  static fromConnectionString(connectionString: string): StatusStore {
    return new StatusStore(LazyTable.fromConnectionString(connectionString, statusTableName));
  }

  static forStorage(connection: StorageConnection, credential?: TokenCredential): StatusStore {
    return new StatusStore(LazyTable.forStorage(connection, statusTableName, credential));
  }

  // ---- reading: what the API and the reconcile timer see ---------------------------------------------

  private async rowsOf(partitionKey: string, rowKeyPrefix = ""): Promise<JsonEntity[]> {
    const table = await this.table.client();
    let filter = `PartitionKey eq ${literal(partitionKey)}`;
    if (rowKeyPrefix !== "")
      // keys continue with digits, hex and "|", all before "~"
      filter += ` and RowKey ge ${literal(rowKeyPrefix)} and RowKey lt ${literal(`${rowKeyPrefix}~`)}`;
    const rows: JsonEntity[] = [];
    for await (const row of table.listEntities<Record<string, unknown>>({ queryOptions: { filter } }))
      rows.push(row as JsonEntity);
    return rows;
  }

  /** The hub's fleet rows: every partition's and, once filled, the fill's. */
  async fleetRows(hub: string): Promise<{ partitions: PartitionRow[]; fill?: FillRow }> {
    const partitions: PartitionRow[] = [];
    let fill: FillRow | undefined;
    for (const entity of await this.rowsOf(fleetPartition(hub))) {
      if (entity.rowKey === "fill") fill = fromJsonProperties<FillRow>(entity);
      else if (entity.rowKey?.startsWith("p|")) partitions.push(fromJsonProperties<PartitionRow>(entity));
    }
    return { partitions, ...(fill && { fill }) };
  }

  private static summed(rows: { partitions: PartitionRow[]; fill?: FillRow }): FleetPartsRow[] {
    return rows.fill?.fillId !== undefined ? [...rows.partitions, rows.fill] : rows.partitions;
  }

  /** The fleet statuses of these configurations (those no part counts are left out). */
  async fleetStatuses(hub: string, configurationIds: readonly string[]): Promise<Map<string, FleetStatus>> {
    const rows = StatusStore.summed(await this.fleetRows(hub));
    const found = new Map<string, FleetStatus>();
    for (const id of new Set(configurationIds)) {
      const status = sumFleetStatus(id, rows);
      if (status) found.set(id, status);
    }
    return found;
  }

  async allFleetStatuses(hub: string): Promise<FleetStatus[]> {
    return sumFleetStatuses(StatusStore.summed(await this.fleetRows(hub)));
  }

  /**
   * A tag of the hub's fleet rows that changes whenever one is written (their keys and ETags, no
   * content): what a reader waiting for a fleet status change checks, cheaply.
   */
  async fleetTag(hub: string): Promise<string> {
    const table = await this.table.client();
    const filter = `PartitionKey eq ${literal(fleetPartition(hub))}`;
    const tags: string[] = [];
    for await (const row of table.listEntities({ queryOptions: { filter, select: ["RowKey"] } }))
      tags.push(`${row.rowKey ?? ""}@${row.etag}`);
    return tags.sort().join(",");
  }

  /** The hub's devices and how many are connected, summed over the parts; undefined before the first fill. */
  async deviceCounts(hub: string): Promise<DeviceCounts | undefined> {
    const rows = await this.fleetRows(hub);
    if (rows.fill?.fillId === undefined) return undefined;
    const total = { total: rows.fill.devices.total, connected: rows.fill.devices.connected };
    for (const row of rows.partitions) {
      total.total += row.devices.total;
      total.connected += row.devices.connected;
    }
    return { total: Math.max(0, total.total), connected: Math.max(0, total.connected) };
  }

  // ---- rows written with their ETag ------------------------------------------------------------------

  private async readRow<T>(partitionKey: string, rowKey: string): Promise<Versioned<T> | undefined> {
    const table = await this.table.client();
    try {
      const entity = await table.getEntity<Record<string, unknown>>(partitionKey, rowKey);
      return { value: fromJsonProperties<T>(entity), etag: entity.etag };
    } catch (error) {
      if (isStatus(error, 404)) return undefined;
      throw error;
    }
  }

  /** Creates the row (etag undefined) or replaces it if it still has `etag`; returns the new ETag. */
  private async writeRow(
    partitionKey: string,
    rowKey: string,
    value: unknown,
    etag: string | undefined,
  ): Promise<string> {
    const table = await this.table.client();
    const entity = { partitionKey, rowKey, ...jsonProperties(value) };
    try {
      const response =
        etag === undefined
          ? await table.createEntity(entity)
          : await table.updateEntity(entity, "Replace", { etag });
      return response.etag ?? "";
    } catch (error) {
      if (isStatus(error, 409, 412))
        throw new StatusConflict(`${partitionKey} ${rowKey} was changed by another writer`);
      throw error;
    }
  }

  readPartitionRow(hub: string, partitionId: string): Promise<Versioned<PartitionRow> | undefined> {
    return this.readRow(fleetPartition(hub), partitionRowKey(partitionId));
  }

  /** The write that publishes a partition's batch (its parts and journal); the seam tests fail on purpose. */
  writePartitionRow(hub: string, row: PartitionRow, etag: string | undefined): Promise<string> {
    return this.writeRow(fleetPartition(hub), partitionRowKey(row.partitionId), row, etag);
  }

  readFillRow(hub: string): Promise<Versioned<FillRow> | undefined> {
    return this.readRow(fleetPartition(hub), "fill");
  }

  writeFillRow(hub: string, row: FillRow, etag: string | undefined): Promise<string> {
    return this.writeRow(fleetPartition(hub), "fill", row, etag);
  }

  async reconcileBookkeeping(hub: string): Promise<Versioned<ReconcileBookkeeping> | undefined> {
    return this.readRow(`hub|${hub}`, "reconcile");
  }

  saveReconcileBookkeeping(
    hub: string,
    value: ReconcileBookkeeping,
    etag: string | undefined,
  ): Promise<string> {
    return this.writeRow(`hub|${hub}`, "reconcile", value, etag);
  }

  // ---- records: device states under a fresh key, published by the row that names the key ----------------

  private async writeRecords<T>(
    partitionKey: string,
    prefix: string,
    records: readonly T[],
  ): Promise<StoredRecords> {
    const table = await this.table.client();
    const key = `${prefix}${randomUUID()}`;
    const parts = entitySizedParts(records);
    const entities = parts.map((part, n) => ({
      partitionKey,
      rowKey: `${key}|${pad(n, 4)}`,
      ...jsonProperties(part),
    }));
    // Written side by side: no row names the key yet, and what a failed write leaves behind is
    // removed with the next snapshot (unreferencedRecords).
    await Promise.all(entities.map((entity) => table.createEntity(entity)));
    return { key, rows: entities.length };
  }

  private async readRecords<T>(partitionKey: string, stored: readonly StoredRecords[]): Promise<T[][]> {
    if (stored.length === 0) return [];
    const byKey = new Map<string, JsonEntity[]>(stored.map((s) => [s.key, []]));
    const prefix = stored.length === 1 ? stored[0]!.key : "";
    for (const entity of await this.rowsOf(partitionKey, prefix)) {
      const key = entity.rowKey.slice(0, entity.rowKey.lastIndexOf("|"));
      byKey.get(key)?.push(entity);
    }
    return stored.map(({ key, rows }) => {
      const entities = byKey.get(key)!.sort((a, b) => (a.rowKey < b.rowKey ? -1 : 1));
      if (entities.length !== rows)
        throw new Error(`status table: ${partitionKey} ${key} has ${entities.length} of its ${rows} rows`);
      return entities.flatMap((entity) => fromJsonProperties<T[]>(entity));
    });
  }

  /** A journal entry; `serial` (the row's next) orders entries in the table for reading. */
  appendJournal(
    hub: string,
    partitionId: string,
    serial: number,
    records: readonly DeviceRecord[],
  ): Promise<StoredRecords> {
    return this.writeRecords(devicesPartition(hub, partitionId), `e|${pad(serial, 12)}|`, records);
  }

  writeSnapshot(hub: string, partitionId: string, records: readonly DeviceRecord[]): Promise<StoredRecords> {
    return this.writeRecords(devicesPartition(hub, partitionId), "s|", records);
  }

  /** The partition's device records: its snapshot's, then its journal entries' in order. */
  async readDeviceRecords(hub: string, row: PartitionRow): Promise<DeviceRecord[]> {
    const stored = [...(row.snapshot ? [row.snapshot] : []), ...row.journal];
    return (await this.readRecords<DeviceRecord>(devicesPartition(hub, row.partitionId), stored)).flat();
  }

  /** Every device state the table holds for the hub: the fill's, with each partition's over it (for diagnostics). */
  async deviceStates(hub: string): Promise<Map<string, DeviceState>> {
    const { partitions, fill } = await this.fleetRows(hub);
    const states = new Map<string, DeviceState>();
    if (fill?.states)
      for (const state of await this.readFillStates(hub, fill.states)) states.set(state.deviceId, state);
    for (const row of partitions)
      for (const record of await this.readDeviceRecords(hub, row)) {
        if ("put" in record) states.set(record.put.deviceId, record.put);
        else states.delete(record.deleted);
      }
    return states;
  }

  writeFillStates(hub: string, states: readonly DeviceState[]): Promise<StoredRecords> {
    return this.writeRecords(`fill|${hub}`, "", states);
  }

  async readFillStates(hub: string, stored: StoredRecords): Promise<DeviceState[]> {
    return (await this.readRecords<DeviceState>(`fill|${hub}`, [stored])).flat();
  }

  /** Removes rows of records no row names any more (best effort: leftovers are only space). */
  async deleteRecords(
    hub: string,
    partitionId: string | undefined,
    stored: readonly StoredRecords[],
  ): Promise<void> {
    if (stored.length === 0) return;
    const partitionKey = partitionId === undefined ? `fill|${hub}` : devicesPartition(hub, partitionId);
    const rowKeys = stored.flatMap(({ key, rows }) =>
      Array.from({ length: rows }, (_, n) => `${key}|${pad(n, 4)}`),
    );
    await this.deleteRows(partitionKey, rowKeys);
  }

  /** Journal entries and snapshots of a partition that its row does not name (left by failed writes). */
  async unreferencedRecords(hub: string, row: PartitionRow): Promise<StoredRecords[]> {
    const named = new Set([...(row.snapshot ? [row.snapshot.key] : []), ...row.journal.map((e) => e.key)]);
    const counts = new Map<string, number>();
    for (const entity of await this.rowsOf(devicesPartition(hub, row.partitionId))) {
      const key = entity.rowKey.slice(0, entity.rowKey.lastIndexOf("|"));
      if (!named.has(key)) counts.set(key, (counts.get(key) ?? 0) + 1);
    }
    return [...counts].map(([key, rows]) => ({ key, rows }));
  }

  private async deleteRows(partitionKey: string, rowKeys: readonly string[]): Promise<void> {
    const table: TableClient = await this.table.client();
    for (let start = 0; start < rowKeys.length; start += TRANSACTION_SIZE) {
      const actions: TransactionAction[] = rowKeys
        .slice(start, start + TRANSACTION_SIZE)
        .map((rowKey) => ["delete", { partitionKey, rowKey }]);
      await table.submitTransaction(actions).catch(async (error: unknown) => {
        // a transaction fails whole when one row is already gone: delete one by one then
        if (!isStatus(error, 404)) throw error;
        for (const [, entity] of actions)
          await table.deleteEntity(partitionKey, entity.rowKey).catch((inner: unknown) => {
            if (!isStatus(inner, 404)) throw inner;
          });
      });
    }
  }
}
