// An Azure Table (Azure Storage or Azurite) created on first use: the pod records and the status
// pipeline each keep one in the app's storage account (AzureWebJobsStorage).
import type { TokenCredential } from "@azure/core-auth";
import { TableClient } from "@azure/data-tables";
import type { StorageConnection } from "./storageConnection.js";

export class LazyTable {
  private ready: Promise<void> | undefined;

  constructor(private readonly table: TableClient) {}

  static fromConnectionString(connectionString: string, tableName: string): LazyTable {
    // Azurite serves plain HTTP on loopback; Azure always HTTPS.
    const allowInsecureConnection = /UseDevelopmentStorage=true|DefaultEndpointsProtocol=http;/i.test(
      connectionString,
    );
    return new LazyTable(
      TableClient.fromConnectionString(connectionString, tableName, { allowInsecureConnection }),
    );
  }

  /** The table in the account by either form; the identity form needs the app's credential. */
  static forStorage(
    connection: StorageConnection,
    tableName: string,
    credential?: TokenCredential,
  ): LazyTable {
    if (connection.kind === "connectionString")
      return LazyTable.fromConnectionString(connection.connectionString, tableName);
    if (credential === undefined)
      throw new Error(`table "${tableName}": the identity-based storage connection needs a credential`);
    return new LazyTable(new TableClient(connection.serviceUris.table, tableName, credential));
  }

  /** The table, created once per process (a failed creation is tried again on the next use). */
  async client(): Promise<TableClient> {
    this.ready ??= this.table.createTable().catch((error: unknown) => {
      this.ready = undefined;
      throw error;
    });
    await this.ready;
    return this.table;
  }
}
