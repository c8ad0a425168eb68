// Where the status pipeline keeps its state between invocations and for the HTTP API: one Azure
// Table (`connectorstatus` on AzureWebJobsStorage). Partition `devices|<hub>` holds one row per
// cached device, `fleet|<hub>` one row per managed configuration's fleet status, and `hub|<hub>`
// the hub's bookkeeping (whether the cache was filled, the last fleet version handed out). A
// restarted app loads the cache from here instead of querying the hub again.
import { RestError, type TableEntity, type TransactionAction } from "@azure/data-tables";
import { LazyTable } from "../storage/lazyTable.js";
import type { DeviceState } from "./deviceState.js";
import type { FleetStatus } from "./statusContract.js";

export const statusTableName = "connectorstatus";
/** Entity group transactions take at most 100 operations, all in one partition. */
const TRANSACTION_SIZE = 100;

type JsonRow = TableEntity<{ json: string }>;

export interface HubBookkeeping {
  /** when the device cache was filled from the hub (ISO); absent: never */
  filledAt?: string;
  /** a floor for the fleet status versions handed out on this hub (stored statuses hold the rest) */
  fleetVersion: number;
  /** configuration id → since when (ISO) the hub's metrics have disagreed with the cache */
  driftSince: Record<string, string>;
}

/** Row keys may not hold / \ # ? or control characters; device ids may hold some of them. */
function rowKey(id: string): string {
  return encodeURIComponent(id);
}

function literal(value: string): string {
  return `'${value.replace(/'/g, "''")}'`;
}

export class StatusStore {
  constructor(private readonly table: LazyTable) {}

  static fromConnectionString(connectionString: string): StatusStore {
    return new StatusStore(LazyTable.fromConnectionString(connectionString, statusTableName));
  }

  private async upsertAll(partitionKey: string, rows: { id: string; value: unknown }[]): Promise<void> {
    const table = await this.table.client();
    for (let start = 0; start < rows.length; start += TRANSACTION_SIZE) {
      const actions: TransactionAction[] = rows
        .slice(start, start + TRANSACTION_SIZE)
        .map(({ id, value }) => [
          "upsert",
          { partitionKey, rowKey: rowKey(id), json: JSON.stringify(value) },
          "Replace",
        ]);
      await table.submitTransaction(actions);
    }
  }

  private async readPartition<T>(partitionKey: string): Promise<T[]> {
    const table = await this.table.client();
    const values: T[] = [];
    const filter = `PartitionKey eq ${literal(partitionKey)}`;
    for await (const row of table.listEntities<JsonRow>({ queryOptions: { filter } }))
      values.push(JSON.parse(row.json) as T);
    return values;
  }

  private async readRow<T>(partitionKey: string, id: string): Promise<T | undefined> {
    const table = await this.table.client();
    try {
      return JSON.parse((await table.getEntity<JsonRow>(partitionKey, rowKey(id))).json) as T;
    } catch (error) {
      if (error instanceof RestError && error.statusCode === 404) return undefined;
      throw error;
    }
  }

  async saveDevices(hub: string, states: readonly DeviceState[]): Promise<void> {
    await this.upsertAll(
      `devices|${hub}`,
      states.map((state) => ({ id: state.deviceId, value: state })),
    );
  }

  async deleteDevices(hub: string, deviceIds: readonly string[]): Promise<void> {
    const table = await this.table.client();
    for (const deviceId of deviceIds) {
      await table.deleteEntity(`devices|${hub}`, rowKey(deviceId)).catch((error: unknown) => {
        if (!(error instanceof RestError && error.statusCode === 404)) throw error;
      });
    }
  }

  loadDevices(hub: string): Promise<DeviceState[]> {
    return this.readPartition<DeviceState>(`devices|${hub}`);
  }

  async saveFleetStatuses(hub: string, statuses: readonly FleetStatus[]): Promise<void> {
    await this.upsertAll(
      `fleet|${hub}`,
      statuses.map((status) => ({ id: status.configurationId, value: status })),
    );
  }

  async deleteFleetStatuses(hub: string, configurationIds: readonly string[]): Promise<void> {
    const table = await this.table.client();
    for (const id of configurationIds) {
      await table.deleteEntity(`fleet|${hub}`, rowKey(id)).catch((error: unknown) => {
        if (!(error instanceof RestError && error.statusCode === 404)) throw error;
      });
    }
  }

  /** The stored fleet statuses of these configurations (those without one are left out). */
  async fleetStatuses(hub: string, configurationIds: readonly string[]): Promise<Map<string, FleetStatus>> {
    const found = new Map<string, FleetStatus>();
    const wanted = new Set(configurationIds);
    const [only] = wanted;
    if (wanted.size === 1 && only !== undefined) {
      // one pod's status: a point read instead of the partition
      const status = await this.readRow<FleetStatus>(`fleet|${hub}`, only);
      if (status) found.set(status.configurationId, status);
      return found;
    }
    for (const status of await this.allFleetStatuses(hub))
      if (wanted.has(status.configurationId)) found.set(status.configurationId, status);
    return found;
  }

  allFleetStatuses(hub: string): Promise<FleetStatus[]> {
    return this.readPartition<FleetStatus>(`fleet|${hub}`);
  }

  async bookkeeping(hub: string): Promise<HubBookkeeping> {
    return (await this.readRow<HubBookkeeping>(`hub|${hub}`, "state")) ?? { fleetVersion: 0, driftSince: {} };
  }

  async saveBookkeeping(hub: string, bookkeeping: HubBookkeeping): Promise<void> {
    await this.upsertAll(`hub|${hub}`, [{ id: "state", value: bookkeeping }]);
  }
}
