// Everything an Azure Storage account (Azurite here) holds, read through the storage APIs: every
// blob of every container, every visible message of every queue, every entity of every table. Tests
// search it for what must not be kept (a Secret's value).
import { BlobServiceClient } from "@azure/storage-blob";
import { QueueServiceClient } from "@azure/storage-queue";
import { TableClient, TableServiceClient } from "@azure/data-tables";

export interface StoredItem {
  /** `blob <container>/<name>`, `queue <name>`, `table <name>` */
  where: string;
  text: string;
}

export async function storageContents(connectionString: string): Promise<StoredItem[]> {
  const items: StoredItem[] = [];
  const blobs = BlobServiceClient.fromConnectionString(connectionString);
  for await (const container of blobs.listContainers()) {
    const client = blobs.getContainerClient(container.name);
    for await (const blob of client.listBlobsFlat()) {
      const content = await client.getBlobClient(blob.name).downloadToBuffer();
      items.push({ where: `blob ${container.name}/${blob.name}`, text: content.toString("utf8") });
    }
  }
  const queues = QueueServiceClient.fromConnectionString(connectionString);
  for await (const queue of queues.listQueues()) {
    // visible messages only: the storage API has no way to read one in flight or delayed
    const peeked = await queues.getQueueClient(queue.name).peekMessages({ numberOfMessages: 32 });
    for (const message of peeked.peekedMessageItems)
      items.push({ where: `queue ${queue.name}`, text: message.messageText });
  }
  const options = { allowInsecureConnection: true };
  const tables = TableServiceClient.fromConnectionString(connectionString, options);
  for await (const table of tables.listTables()) {
    const client = TableClient.fromConnectionString(connectionString, table.name ?? "", options);
    for await (const entity of client.listEntities())
      items.push({ where: `table ${table.name}`, text: JSON.stringify(entity) });
  }
  return items;
}

/** Where any of `needles` appears. */
export function whereFound(items: readonly StoredItem[], needles: readonly string[]): string[] {
  return items
    .filter((item) => needles.some((needle) => item.text.includes(needle)))
    .map((item) => item.where);
}
