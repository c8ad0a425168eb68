// A keyed work queue in the manner of client-go's rate-limited workqueue: a key is processed by one
// worker at a time, adding a key that is already waiting does nothing (dedupe), adding it while it
// is being processed runs it once more afterwards (so the latest state is always synced), and a
// failed key comes back after an exponential backoff. A failure that names when to try again (the
// backend is busy: Retry-After) holds every worker until then, not only its key, since any key's
// next call would be refused too. Keys are `namespace/name`.

export interface WorkQueueOptions {
  /** does the work for one key; a throw schedules a retry after a backoff */
  handler: (key: string) => Promise<void>;
  /** keys processed at once (each key still one at a time) */
  workers: number;
  baseDelayMs: number;
  maxDelayMs: number;
  onError?: (key: string, error: unknown, attempt: number, retryInMs: number) => void;
  /** the wait a failure asks for (Retry-After): the whole queue holds for it, without a backoff */
  retryAfterMs?: (error: unknown) => number | undefined;
  /** the queue holds until `until` (epoch ms) for a key's failure */
  onHold?: (key: string, error: unknown, until: number) => void;
  onDepthChange?: (depth: number) => void;
}

export class WorkQueue {
  private readonly ready: string[] = [];
  private readonly queued = new Set<string>();
  private readonly processing = new Map<string, Promise<void>>();
  private readonly dirty = new Set<string>();
  private readonly waiting = new Map<string, NodeJS.Timeout>();
  private readonly failures = new Map<string, number>();
  private stopped = false;
  /** no key starts before this (epoch ms): a failure asked the queue to hold */
  private heldUntil = 0;
  private holdTimer: NodeJS.Timeout | undefined;

  constructor(private readonly options: WorkQueueOptions) {
    if (options.workers < 1) throw new Error("WorkQueue: workers must be at least 1");
    if (options.baseDelayMs <= 0 || options.maxDelayMs < options.baseDelayMs) {
      throw new Error("WorkQueue: need 0 < baseDelayMs <= maxDelayMs");
    }
  }

  /** Keys ready, backing off, or due again after their current run. */
  get depth(): number {
    return this.ready.length + this.waiting.size + this.dirty.size;
  }

  /** Failed attempts in a row for a key (0 after a success). */
  attempts(key: string): number {
    return this.failures.get(key) ?? 0;
  }

  /** Queues the key; `first`: ahead of the keys already waiting (a key already waiting keeps its place). */
  add(key: string, { first = false }: { first?: boolean } = {}): void {
    if (this.stopped) return;
    if (this.processing.has(key)) this.dirty.add(key);
    // A key backing off keeps its delay: re-adding it must not turn an outage into a retry storm.
    else if (!this.waiting.has(key) && !this.queued.has(key)) {
      this.queued.add(key);
      if (first) this.ready.unshift(key);
      else this.ready.push(key);
    }
    this.changed();
    this.pump();
  }

  /** Adds the key after `delayMs` (polling for an outcome; not a failure, so no backoff). */
  addAfter(key: string, delayMs: number): void {
    if (this.stopped || this.waiting.has(key)) return;
    const timer = setTimeout(() => {
      this.waiting.delete(key);
      this.add(key);
    }, delayMs);
    this.waiting.set(key, timer);
    this.changed();
  }

  /** Stops taking work, drops pending retries, and waits for in-flight work up to `timeoutMs`. */
  async shutdown(timeoutMs: number): Promise<{ drained: boolean }> {
    this.stopped = true;
    clearTimeout(this.holdTimer);
    for (const timer of this.waiting.values()) clearTimeout(timer);
    this.waiting.clear();
    this.ready.length = 0;
    this.queued.clear();
    this.dirty.clear();
    this.changed();
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<false>((resolve) => {
      timer = setTimeout(() => resolve(false), timeoutMs);
    });
    const drained = await Promise.race([
      Promise.allSettled(this.processing.values()).then(() => true),
      deadline,
    ]);
    clearTimeout(timer);
    return { drained };
  }

  private pump(): void {
    const heldFor = this.heldUntil - Date.now();
    if (heldFor > 0) {
      // Timers and Date.now() keep different clocks: a hold timer may fire a little early. Always
      // leave a timer for what remains, or the queue would wait for the next add.
      if (!this.stopped) this.pumpAfter(heldFor);
      return;
    }
    while (!this.stopped && this.processing.size < this.options.workers && this.ready.length > 0) {
      const key = this.ready.shift() as string;
      this.queued.delete(key);
      this.processing.set(key, this.process(key));
      this.changed();
    }
  }

  private async process(key: string): Promise<void> {
    try {
      await this.options.handler(key);
      this.failures.delete(key);
    } catch (error) {
      const retryAfter = this.options.retryAfterMs?.(error);
      if (retryAfter !== undefined) {
        this.hold(key, error, retryAfter);
        return;
      }
      const attempt = (this.failures.get(key) ?? 0) + 1;
      this.failures.set(key, attempt);
      const delay = Math.min(this.options.maxDelayMs, this.options.baseDelayMs * 2 ** (attempt - 1));
      this.options.onError?.(key, error, attempt, delay);
      if (!this.stopped) {
        this.dirty.delete(key); // the retry syncs the latest state anyway
        this.addAfter(key, delay);
      }
    } finally {
      this.processing.delete(key);
      if (this.dirty.delete(key)) this.add(key);
      this.changed();
      this.pump();
    }
  }

  /** The key waits for `ms` (not a failure: no backoff) and no key starts before then. */
  private hold(key: string, error: unknown, ms: number): void {
    const until = Date.now() + ms;
    this.options.onHold?.(key, error, until);
    if (this.stopped) return;
    this.dirty.delete(key);
    this.addAfter(key, ms);
    if (until <= this.heldUntil) return;
    this.heldUntil = until;
    this.pumpAfter(ms);
  }

  private pumpAfter(ms: number): void {
    clearTimeout(this.holdTimer);
    this.holdTimer = setTimeout(() => this.pump(), ms);
  }

  private changed(): void {
    this.options.onDepthChange?.(this.depth);
  }
}
