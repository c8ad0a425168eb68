// Where the app keeps what it knows of each pod: one Azure Table row per pod (partition = hub,
// row = namespace|name|uid), written by the HTTP API (accepted) and the pod orchestration
// (each later stage). A node's list is one partition query; its ETag comes from the row versions.
import type { HubTrouble } from "../scheduler/schedulerContract.js";
import { createHash } from "node:crypto";
import { RestError, type TableEntity } from "@azure/data-tables";
import { LazyTable } from "../storage/lazyTable.js";
import type { StorageConnection } from "../storage/storageConnection.js";
import type { TokenCredential } from "@azure/core-auth";
import type { PodLifecycle } from "../status/statusContract.js";
import type { PodIdentity } from "./podIdentity.js";

export interface PodRecord extends PodIdentity {
  node: string;
  /** the cluster of the node (absent in records written before clusters were told apart) */
  cluster?: string;
  lifecycle: PodLifecycle;
  /** the configuration the pod is deployed by (the one on the hub; during an update, the old one) */
  configurationId?: string;
  /** the pod's containers (name, image), for container statuses */
  containers: { name: string; image: string }[];
  /** hash of the spec the app last accepted for this pod */
  specHash: string;
  /** increases with every write */
  version: number;
  updatedAt: string;
}

type StoredRow = TableEntity<{
  node: string;
  cluster?: string;
  namespace: string;
  name: string;
  uid: string;
  lifecycle: string;
  containers: string;
  configurationId?: string;
  specHash: string;
  version: number;
  updatedAt: string;
}>;

export const podTableName = "connectorpods";
const maxWriteAttempts = 10;

function rowKey({ namespace, name, uid }: Omit<PodIdentity, "hub">): string {
  return `${namespace}|${name}|${uid}`;
}

/** Single quotes doubled: the OData string literal rule. */
function literal(value: string): string {
  return `'${value.replace(/'/g, "''")}'`;
}

function fromRow(row: StoredRow): PodRecord {
  return {
    hub: row.partitionKey,
    node: row.node,
    ...(row.cluster ? { cluster: row.cluster } : {}),
    namespace: row.namespace,
    name: row.name,
    uid: row.uid,
    lifecycle: JSON.parse(row.lifecycle) as PodLifecycle,
    containers: JSON.parse(row.containers) as PodRecord["containers"],
    ...(row.configurationId ? { configurationId: row.configurationId } : {}),
    specHash: row.specHash,
    version: row.version,
    updatedAt: row.updatedAt,
  };
}

function toRow(record: PodRecord): StoredRow {
  return {
    partitionKey: record.hub,
    rowKey: rowKey(record),
    node: record.node,
    cluster: record.cluster ?? "",
    namespace: record.namespace,
    name: record.name,
    uid: record.uid,
    lifecycle: JSON.stringify(record.lifecycle),
    containers: JSON.stringify(record.containers),
    configurationId: record.configurationId ?? "",
    specHash: record.specHash,
    version: record.version,
    updatedAt: record.updatedAt,
  };
}

function isStatus(error: unknown, status: number): boolean {
  return error instanceof RestError && error.statusCode === status;
}

/**
 * The ETag of a node's pod list: changes whenever a pod is added, removed or rewritten, or the
 * fleet status of a configuration its pods use changes (`fleetVersions`: configuration id → version).
 */
export function nodeListVersion(
  records: readonly PodRecord[],
  fleetVersions: ReadonlyMap<string, number> = new Map(),
  /** the hub trouble the pods show: the list changes when it starts or ends */
  hubTrouble?: HubTrouble,
): string {
  const hash = createHash("sha256");
  if (hubTrouble !== undefined) hash.update(`hub ${hubTrouble.kind} since ${hubTrouble.since}\n`);
  const keys = records.map((record) => {
    const fleet = record.configurationId ? (fleetVersions.get(record.configurationId) ?? 0) : 0;
    return `${rowKey(record)}@${record.version}/${fleet}`;
  });
  for (const key of keys.sort()) hash.update(`${key}\n`);
  return hash.digest("base64url").slice(0, 22);
}

/** Where a node's list stood: the table's time of its latest change, and the rows (`key@etag`) changed then. */
export interface NodeListMark {
  at: string;
  rows: string[];
}

/** The table's change time with 7 fractional digits, so that the strings sort as the times do. */
function changeTime(timestamp: string | undefined): string {
  if (timestamp === undefined) return "";
  const match = /^(.*T\d\d:\d\d:\d\d)(?:\.(\d+))?Z$/.exec(timestamp);
  return match ? `${match[1]}.${(match[2] ?? "").padEnd(7, "0")}Z` : timestamp;
}

const rowTag = (row: { rowKey?: string; etag: string }) => `${row.rowKey ?? ""}@${row.etag}`;

export class PodRecords {
  constructor(private readonly table: LazyTable) {}

  static fromConnectionString(connectionString: string): PodRecords {
    return new PodRecords(LazyTable.fromConnectionString(connectionString, podTableName));
  }

  static forStorage(connection: StorageConnection, credential?: TokenCredential): PodRecords {
    return new PodRecords(LazyTable.forStorage(connection, podTableName, credential));
  }

  async get(pod: PodIdentity): Promise<PodRecord | undefined> {
    const table = await this.table.client();
    try {
      return fromRow(await table.getEntity<StoredRow>(pod.hub, rowKey(pod)));
    } catch (error) {
      if (isStatus(error, 404)) return undefined;
      throw error;
    }
  }

  /** Every pod of this name (an old uid may still be leaving while a new one arrives), newest first. */
  async findByName(hub: string, namespace: string, name: string): Promise<PodRecord[]> {
    const prefix = `${namespace}|${name}|`;
    return this.query(
      `PartitionKey eq ${literal(hub)} and RowKey ge ${literal(prefix)} and RowKey lt ${literal(`${prefix}\u{10FFFF}`)}`,
    ).then((records) => records.sort((a, b) => b.updatedAt.localeCompare(a.updatedAt)));
  }

  /** The pods of one virtual node: its name on the hub, in its cluster (legacy records have none). */
  async listNode(hub: string, node: string, cluster: string): Promise<PodRecord[]> {
    return (await this.listNodeMarked(hub, node, cluster)).records;
  }

  /**
   * The node's pods and where its list stood when read (its latest change), for `changedSince`:
   * a reader waiting for a change checks that instead of reading the whole list again.
   */
  async listNodeMarked(
    hub: string,
    node: string,
    cluster: string,
  ): Promise<{ records: PodRecord[]; mark: NodeListMark }> {
    const records: PodRecord[] = [];
    const changes: { at: string; row: string }[] = [];
    for await (const row of this.nodeRows(hub, node, cluster)) {
      records.push(fromRow(row));
      changes.push({ at: changeTime(row.timestamp), row: rowTag(row) });
    }
    const at = changes.reduce((latest, change) => (change.at > latest ? change.at : latest), "");
    return { records, mark: { at, rows: changes.filter((change) => change.at === at).map((c) => c.row) } };
  }

  /**
   * Whether a pod of the node was added or rewritten since `mark` (removals are not seen: a removed
   * pod's status has no reader). One query that returns only the rows changed since, usually none.
   */
  async changedSince(hub: string, node: string, cluster: string, mark: NodeListMark): Promise<boolean> {
    const since = mark.at === "" ? "" : ` and Timestamp ge datetime${literal(mark.at)}`;
    const known = new Set(mark.rows);
    for await (const row of this.nodeRows(hub, node, cluster, since, ["RowKey", "cluster"]))
      if (!known.has(rowTag(row))) return true;
    return false;
  }

  private async *nodeRows(
    hub: string,
    node: string,
    cluster: string,
    extraFilter = "",
    select?: string[],
  ): AsyncGenerator<StoredRow & { etag: string; timestamp?: string }> {
    const table = await this.table.client();
    const filter = `PartitionKey eq ${literal(hub)} and node eq ${literal(node)}${extraFilter}`;
    for await (const row of table.listEntities<StoredRow>({ queryOptions: { filter, select } })) {
      // legacy records (written before clusters were told apart) belong to the node in every cluster
      if (row.cluster && row.cluster !== cluster) continue;
      yield row;
    }
  }

  /** Every pod of one hub (the configuration sweep's view of what pods want). */
  async listHub(hub: string): Promise<PodRecord[]> {
    return this.query(`PartitionKey eq ${literal(hub)}`);
  }

  private async query(filter: string): Promise<PodRecord[]> {
    const table = await this.table.client();
    const records: PodRecord[] = [];
    for await (const row of table.listEntities<StoredRow>({ queryOptions: { filter } }))
      records.push(fromRow(row));
    return records;
  }

  /** Adds the pod unless a record exists; returns the record that is stored, and whether this call wrote it. */
  async createIfAbsent(
    record: Omit<PodRecord, "version" | "updatedAt">,
    now: Date,
  ): Promise<{ record: PodRecord; created: boolean }> {
    const table = await this.table.client();
    const created: PodRecord = { ...record, version: 1, updatedAt: now.toISOString() };
    try {
      await table.createEntity(toRow(created));
      return { record: created, created: true };
    } catch (error) {
      if (!isStatus(error, 409)) throw error;
      const existing = await this.get(record);
      if (existing === undefined) return this.createIfAbsent(record, now);
      return { record: existing, created: false };
    }
  }

  /**
   * Rewrites a pod's record with `change` (read, change, write with the row's ETag, again on a
   * conflict); the version goes up by one. A missing record is created from `create` if given.
   */
  async update(
    pod: PodIdentity,
    change: (record: PodRecord) => PodRecord,
    now: Date,
    create?: Omit<PodRecord, "version" | "updatedAt">,
  ): Promise<PodRecord | undefined> {
    const table = await this.table.client();
    for (let attempt = 1; attempt <= maxWriteAttempts; attempt += 1) {
      let row: (StoredRow & { etag: string }) | undefined;
      try {
        row = await table.getEntity<StoredRow>(pod.hub, rowKey(pod));
      } catch (error) {
        if (!isStatus(error, 404)) throw error;
      }
      if (row === undefined) {
        if (create === undefined) return undefined;
        await this.createIfAbsent(create, now);
        continue;
      }
      const current = fromRow(row);
      const next = { ...change(current), version: current.version + 1, updatedAt: now.toISOString() };
      try {
        await table.updateEntity(toRow(next), "Replace", { etag: row.etag });
        return next;
      } catch (error) {
        if (!isStatus(error, 412)) throw error;
      }
    }
    throw new Error(
      `pod ${rowKey(pod)} on hub ${pod.hub}: record kept changing, gave up after ${maxWriteAttempts} writes`,
    );
  }

  async remove(pod: PodIdentity): Promise<void> {
    const table = await this.table.client();
    try {
      await table.deleteEntity(pod.hub, rowKey(pod));
    } catch (error) {
      if (!isStatus(error, 404)) throw error;
    }
  }
}
