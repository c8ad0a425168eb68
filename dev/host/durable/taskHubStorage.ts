// Persistent state of a task hub in Azure Storage (Azurite locally): one blob per orchestration
// instance (its record and history) and per entity, written with ETag conditions so that a write
// based on stale state fails instead of losing an update; and three queues that distribute work:
// control (events for orchestrations, timers as delayed messages), work items (activities) and
// entity operations.
import { randomUUID } from "node:crypto";
import { RestError, type ContainerClient } from "@azure/storage-blob";
import type { QueueClient } from "@azure/storage-queue";
import type { StorageConnection } from "../../../lib/storage/storageConnection.js";
import { blobService, hostStorageConnection, queueService } from "../hostStorage.js";

export type QueueName = "control" | "workitems" | "entities";

export interface Stored<T> {
  value: T;
  etag: string;
}

export interface ReceivedMessage<T> {
  body: T;
  messageId: string;
  popReceipt: string;
  dequeueCount: number;
  /** The blob holding a body too large for a queue message, deleted with the message. */
  bodyBlob?: string;
}

/** Queue messages are limited to 64 KiB (after XML escaping); larger bodies travel in a blob. */
const maxInlineMessageBytes = 32 * 1024;

/** Longest delay a queue message may have (7 days); longer timers are re-delayed on arrival. */
export const maxMessageDelaySeconds = 7 * 24 * 3600 - 60;

export class ConcurrencyConflict extends Error {}

// Storage is local: give up on an unreachable account within seconds, not minutes, so that a
// stopping host does not hang on retries (failed messages come back through the queue anyway).
const clientOptions = { retryOptions: { maxTries: 3, maxRetryDelayInMs: 1_000, tryTimeoutInMs: 15_000 } };

function isStatus(error: unknown, ...statuses: number[]): boolean {
  return error instanceof RestError && statuses.includes(error.statusCode ?? 0);
}

async function readAll(stream: NodeJS.ReadableStream | undefined): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream ?? []) chunks.push(Buffer.from(chunk as Buffer));
  return Buffer.concat(chunks).toString("utf8");
}

export class TaskHubStorage {
  readonly #container: ContainerClient;
  readonly #queues: Record<QueueName, QueueClient>;
  readonly #sentListeners = new Set<(queue: QueueName) => void>();

  /** `connection`: a connection string, or the identity-based form (the app's managed identity). */
  constructor(connection: string | StorageConnection, taskHubName: string) {
    const prefix = taskHubName.toLowerCase();
    const account = hostStorageConnection(connection)!;
    this.#container = blobService(account, clientOptions).getContainerClient(`${prefix}-state`);
    const queues = queueService(account, clientOptions);
    this.#queues = {
      control: queues.getQueueClient(`${prefix}-control`),
      workitems: queues.getQueueClient(`${prefix}-workitems`),
      entities: queues.getQueueClient(`${prefix}-entities`),
    };
  }

  async createIfMissing(): Promise<void> {
    await this.#container.createIfNotExists();
    for (const queue of Object.values(this.#queues)) await queue.createIfNotExists();
  }

  async read<T>(kind: "instances" | "entities", id: string): Promise<Stored<T> | undefined> {
    try {
      const response = await this.#container
        .getBlockBlobClient(`${kind}/${encodeURIComponent(id)}.json`)
        .download();
      return {
        value: JSON.parse(await readAll(response.readableStreamBody)) as T,
        etag: response.etag ?? "",
      };
    } catch (error) {
      if (isStatus(error, 404)) return undefined;
      throw error;
    }
  }

  /** Writes if the blob still has `etag`, or (etag undefined) does not exist yet. */
  async write<T>(
    kind: "instances" | "entities",
    id: string,
    value: T,
    etag: string | undefined,
  ): Promise<string> {
    const text = JSON.stringify(value);
    const conditions = etag === undefined ? { ifNoneMatch: "*" } : { ifMatch: etag };
    try {
      const response = await this.#container
        .getBlockBlobClient(`${kind}/${encodeURIComponent(id)}.json`)
        .upload(text, Buffer.byteLength(text), {
          conditions,
          blobHTTPHeaders: { blobContentType: "application/json" },
        });
      return response.etag ?? "";
    } catch (error) {
      if (isStatus(error, 409, 412)) throw new ConcurrencyConflict(`${kind}/${id} changed concurrently`);
      throw error;
    }
  }

  async remove(kind: "instances" | "entities", id: string): Promise<boolean> {
    const response = await this.#container
      .getBlockBlobClient(`${kind}/${encodeURIComponent(id)}.json`)
      .deleteIfExists();
    return response.succeeded;
  }

  async *list<T>(kind: "instances" | "entities"): AsyncGenerator<Stored<T>> {
    for await (const blob of this.#container.listBlobsFlat({ prefix: `${kind}/` })) {
      const id = decodeURIComponent(blob.name.slice(kind.length + 1, -".json".length));
      const stored = await this.read<T>(kind, id);
      if (stored) yield stored;
    }
  }

  /** Calls `listener` after this process sent a message that is visible at once (receivers need not wait to poll). */
  onSent(listener: (queue: QueueName) => void): void {
    this.#sentListeners.add(listener);
  }

  async send(queue: QueueName, body: unknown, delaySeconds = 0): Promise<void> {
    const visibilityTimeout = Math.min(Math.max(0, Math.ceil(delaySeconds)), maxMessageDelaySeconds);
    let text = JSON.stringify(body);
    if (Buffer.byteLength(text) > maxInlineMessageBytes) {
      const blobName = `messages/${randomUUID()}.json`;
      await this.#container.getBlockBlobClient(blobName).upload(text, Buffer.byteLength(text));
      text = JSON.stringify({ $bodyBlob: blobName });
    }
    await this.#queues[queue].sendMessage(text, { visibilityTimeout, messageTimeToLive: -1 });
    if (visibilityTimeout === 0) for (const listener of this.#sentListeners) listener(queue);
  }

  /**
   * Up to `count` messages, invisible to other receivers for `visibilitySeconds`. A message that
   * cannot be read (not JSON, or its body blob gone) is deleted and counted in `unreadable`: no
   * handler could ever process it, and it must not block the queue.
   */
  async receive<T>(
    queue: QueueName,
    count: number,
    visibilitySeconds: number,
  ): Promise<{ messages: ReceivedMessage<T>[]; unreadable: number }> {
    const response = await this.#queues[queue].receiveMessages({
      numberOfMessages: count,
      visibilityTimeout: visibilitySeconds,
    });
    const read = await Promise.all(
      response.receivedMessageItems.map(async (item) => {
        try {
          const parsed = JSON.parse(item.messageText) as T | { $bodyBlob: string };
          const bodyBlob =
            typeof parsed === "object" && parsed !== null && "$bodyBlob" in parsed
              ? parsed.$bodyBlob
              : undefined;
          const body = bodyBlob ? (JSON.parse(await this.#readBodyBlob(bodyBlob)) as T) : (parsed as T);
          const { messageId, popReceipt, dequeueCount } = item;
          return { body, messageId, popReceipt, dequeueCount, bodyBlob };
        } catch (error) {
          if (!(error instanceof SyntaxError) && !isStatus(error, 404)) throw error;
          await this.#queues[queue].deleteMessage(item.messageId, item.popReceipt);
          return undefined;
        }
      }),
    );
    const messages = read.filter((m): m is NonNullable<typeof m> => m !== undefined);
    return { messages, unreadable: read.length - messages.length };
  }

  async #readBodyBlob(name: string): Promise<string> {
    return readAll((await this.#container.getBlockBlobClient(name).download()).readableStreamBody);
  }

  async complete(queue: QueueName, message: ReceivedMessage<unknown>): Promise<void> {
    try {
      await this.#queues[queue].deleteMessage(message.messageId, message.popReceipt);
    } catch (error) {
      // Already gone (its visibility lapsed and another receiver took it): nothing to undo.
      if (!isStatus(error, 404)) throw error;
      return;
    }
    if (message.bodyBlob) await this.#container.getBlockBlobClient(message.bodyBlob).deleteIfExists();
  }
}
