// Reads shared between callers for a short while (one scheduler state read per hub per second serves
// every API call), with one exception: a caller that must see everything that happened before a
// moment (a twin-events batch must see each configuration its devices report on) names that moment,
// and only a read started at or after it serves it, a newer one otherwise.
export class RecentReads<T> {
  private readonly reads = new Map<string, { startedAt: number; value: Promise<T> }>();

  constructor(
    private readonly maxAgeMs: number,
    private readonly clock: () => number = Date.now,
  ) {}

  read(key: string, load: () => Promise<T>, { startedAfter }: { startedAfter?: number } = {}): Promise<T> {
    const now = this.clock();
    const last = this.reads.get(key);
    const fresh = last !== undefined && now - last.startedAt < this.maxAgeMs;
    if (fresh && (startedAfter === undefined || last.startedAt >= startedAfter)) return last.value;
    const value = load();
    const entry = { startedAt: now, value };
    value.catch(() => {
      if (this.reads.get(key) === entry) this.reads.delete(key);
    });
    this.reads.set(key, entry);
    return value;
  }
}
