// How far the app's Durable task hub is behind: the messages waiting in its queues for a worker to
// take them (with the Azure Storage backend its control queues and its work-item queue; the local
// host keeps three queues of the same prefix). Waiting means visible: a queue's approximate count
// also counts the messages being worked on and the durable timers not yet due (a waiting pod's poll
// is one), so it does not fall when the workers keep up. A peek sees up to 32 visible messages a
// queue, enough to tell a worker that keeps up from one that does not (a limit over 32 misses one
// queue far behind: 50 did, docs/benchmarks.md). The provider API refuses new work while it is over
// a limit (ProviderService.putPod): a PUT accepted whatever the backlog makes every pod later once
// the senders outrun the task hub (docs/benchmarks.md, End to end).
import type { TokenCredential } from "@azure/core-auth";
import { QueueServiceClient } from "@azure/storage-queue";
import type { StorageConnection } from "../storage/storageConnection.js";
import { RecentReads } from "./recentReads.js";

/** How long one count serves every PUT: one queue listing and one peek per queue, once a second. */
const countTtlMs = 1_000;

/** The most messages one peek returns (the Queue service's limit). */
export const PEEK_MAX = 32;

export class TaskHubBacklog {
  private readonly counts = new RecentReads<number>(countTtlMs);

  constructor(private readonly queues: QueueServiceClient) {}

  /** The account's queues by either form of the app's storage connection. */
  static forStorage(connection: StorageConnection, credential?: TokenCredential): TaskHubBacklog {
    if (connection.kind === "connectionString")
      return new TaskHubBacklog(QueueServiceClient.fromConnectionString(connection.connectionString));
    if (credential === undefined)
      throw new Error("the task hub's queues: the identity-based storage connection needs a credential");
    return new TaskHubBacklog(new QueueServiceClient(connection.serviceUris.queue, credential));
  }

  /** Visible messages in the task hub's queues (up to 32 a queue), at most a second old. */
  messages(taskHubName: string): Promise<number> {
    const prefix = `${taskHubName.toLowerCase()}-`;
    return this.counts.read(prefix, () => this.count(prefix));
  }

  private async count(prefix: string): Promise<number> {
    const names: string[] = [];
    for await (const queue of this.queues.listQueues({ prefix })) names.push(queue.name);
    const counts = await Promise.all(
      names.map(async (name) => {
        const peeked = await this.queues.getQueueClient(name).peekMessages({ numberOfMessages: PEEK_MAX });
        return peeked.peekedMessageItems.length;
      }),
    );
    return counts.reduce((sum, count) => sum + count, 0);
  }
}
