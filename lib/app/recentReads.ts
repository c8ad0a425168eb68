// Reads shared between callers for a short while (one scheduler state read per hub per second serves
// every API call), with one exception: a caller that must see everything that happened before a
// moment (a twin-events batch must see each configuration its devices report on) names that moment,
// and only a read started at or after it serves it, a newer one otherwise. Callers the running read
// cannot serve share the next read, started when the running one ends: the partitions' concurrent
// batches then cost one read at a time, not one read each.
interface Read<T> {
  startedAt: number;
  value: Promise<T>;
  running: boolean;
}

export class RecentReads<T> {
  private readonly reads = new Map<string, Read<T>>();
  /** per key, the read that starts once the running one ends */
  private readonly next = new Map<string, Promise<T>>();

  constructor(
    private readonly maxAgeMs: number,
    private readonly clock: () => number = Date.now,
  ) {}

  read(key: string, load: () => Promise<T>, { startedAfter }: { startedAfter?: number } = {}): Promise<T> {
    const last = this.reads.get(key);
    const fresh = last !== undefined && this.clock() - last.startedAt < this.maxAgeMs;
    if (fresh && (startedAfter === undefined || last.startedAt >= startedAfter)) return last.value;
    if (!last?.running) return this.start(key, load);
    let next = this.next.get(key);
    if (next === undefined) {
      const settled = last.value.then(
        () => undefined,
        () => undefined,
      );
      next = settled.then(() => {
        this.next.delete(key);
        return this.start(key, load);
      });
      this.next.set(key, next);
    }
    return next;
  }

  private start(key: string, load: () => Promise<T>): Promise<T> {
    const startedAt = this.clock(); // taken before the read starts, so never later than its start
    const value = load();
    const entry: Read<T> = { startedAt, value, running: true };
    value.then(
      () => (entry.running = false),
      () => {
        entry.running = false;
        if (this.reads.get(key) === entry) this.reads.delete(key);
      },
    );
    this.reads.set(key, entry);
    return value;
  }
}
