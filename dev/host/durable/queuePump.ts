// Receives messages from one task hub queue and hands them to a handler: up to `maxInFlight` at
// once, messages with the same key one after another (an instance's events), or those of a key
// that wait together as one batch (an entity's operations). A message is deleted only after its
// handler succeeded; otherwise it comes back when its visibility timeout lapses.
import type { Logger } from "pino";
import type { QueueName, ReceivedMessage, TaskHubStorage } from "./taskHubStorage.js";

/** `handle` takes one message at a time per key; `batch` every message of a key waiting at its turn. */
export type QueuePumpOptions<T> = {
  queue: QueueName;
  maxInFlight: number;
  visibilitySeconds: number;
  keyOf(body: T): string;
} & (
  | { handle(message: ReceivedMessage<T>): Promise<void> }
  | { batch(messages: ReceivedMessage<T>[]): Promise<void> }
);

const minIdleMs = 20;
const maxIdleMs = 250;

export class QueuePump<T> {
  readonly #storage: TaskHubStorage;
  readonly #options: QueuePumpOptions<T>;
  readonly #logger: Logger;
  readonly #inFlight = new Set<Promise<void>>();
  readonly #tails = new Map<string, Promise<void>>();
  /** Received messages of a key not yet handed to `batch`. */
  readonly #waiting = new Map<string, ReceivedMessage<T>[]>();
  #running = false;
  #loop: Promise<void> | undefined;
  #wake: (() => void) | undefined;
  #nudged = false;

  constructor(storage: TaskHubStorage, options: QueuePumpOptions<T>, logger: Logger) {
    this.#storage = storage;
    this.#options = options;
    this.#logger = logger.child({ queue: options.queue });
    storage.onSent((queue) => {
      if (queue === options.queue) this.#wake?.();
    });
  }

  start(): void {
    this.#running = true;
    this.#loop = this.#run();
  }

  async stop(): Promise<void> {
    this.#running = false;
    this.#wake?.();
    await this.#loop;
    await Promise.all(this.#inFlight);
  }

  #sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(resolve, ms);
      this.#wake = () => {
        this.#nudged = true;
        clearTimeout(timer);
        resolve();
      };
    });
  }

  async #run(): Promise<void> {
    let idleMs = minIdleMs;
    while (this.#running) {
      const room = this.#options.maxInFlight - this.#inFlight.size;
      if (room <= 0) {
        await Promise.race(this.#inFlight);
        continue;
      }
      let messages: ReceivedMessage<T>[];
      try {
        const received = await this.#storage.receive<T>(
          this.#options.queue,
          Math.min(room, 32),
          this.#options.visibilitySeconds,
        );
        messages = received.messages;
        if (received.unreadable > 0) {
          this.#logger.error({ count: received.unreadable }, "unreadable messages deleted from the queue");
        }
      } catch (error) {
        this.#logger.warn({ err: error }, "receiving from the queue failed; retrying");
        await this.#sleep(maxIdleMs);
        continue;
      }
      if (messages.length === 0) {
        if (this.#nudged) {
          // A message was sent while receiving: look again at once.
          this.#nudged = false;
          continue;
        }
        await this.#sleep(idleMs);
        idleMs = this.#nudged ? minIdleMs : Math.min(maxIdleMs, idleMs * 2);
        continue;
      }
      idleMs = minIdleMs;
      this.#nudged = false;
      for (const message of messages) this.#dispatch(message);
    }
  }

  #dispatch(message: ReceivedMessage<T>): void {
    const key = this.#options.keyOf(message.body);
    const previous = this.#tails.get(key) ?? Promise.resolve();
    const batched = "batch" in this.#options;
    if (batched) this.#waiting.set(key, [...(this.#waiting.get(key) ?? []), message]);
    // with `batch`, the first turn takes every message waiting; later turns find none left
    const work = previous.then(() => (batched ? this.#processWaiting(key) : this.#process(message)));
    this.#tails.set(key, work);
    this.#inFlight.add(work);
    void work.finally(() => {
      this.#inFlight.delete(work);
      if (this.#tails.get(key) === work) this.#tails.delete(key);
    });
  }

  async #processWaiting(key: string): Promise<void> {
    const messages = this.#waiting.get(key) ?? [];
    this.#waiting.delete(key);
    if (messages.length === 0) return;
    try {
      if ("batch" in this.#options) await this.#options.batch(messages);
      await Promise.all(messages.map((message) => this.#storage.complete(this.#options.queue, message)));
    } catch (error) {
      this.#logger.error(
        { err: error, messages: messages.length },
        "batch handling failed; its messages will be retried",
      );
    }
  }

  async #process(message: ReceivedMessage<T>): Promise<void> {
    try {
      if ("handle" in this.#options) await this.#options.handle(message);
      await this.#storage.complete(this.#options.queue, message);
    } catch (error) {
      this.#logger.error(
        { err: error, messageId: message.messageId },
        "message handling failed; it will be retried",
      );
    }
  }
}
