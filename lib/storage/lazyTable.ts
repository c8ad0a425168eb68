// An Azure Table (Azure Storage or Azurite) created on first use: the pod records and the status
// pipeline each keep one in the app's storage account (AzureWebJobsStorage).
import { TableClient } from "@azure/data-tables";

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
