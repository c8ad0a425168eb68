// Runs tasks one after another per key and side by side across keys. The provider API reads
// durable state, then starts an instance: two requests for one pod (or one hub's base deployment)
// interleaved there would both see "not running" and both start it, and the second start fails.
export class KeyedSerial {
  private readonly tails = new Map<string, Promise<unknown>>();

  run<T>(key: string, task: () => Promise<T>): Promise<T> {
    const previous = this.tails.get(key) ?? Promise.resolve();
    // a failed task fails its own caller only; the next one still runs
    const result = previous.then(task, task);
    const tail = result.then(
      () => undefined,
      () => undefined,
    );
    this.tails.set(key, tail);
    void tail.then(() => {
      if (this.tails.get(key) === tail) this.tails.delete(key);
    });
    return result;
  }

  /** keys with a task queued or running (for tests: the map does not grow without bound) */
  get size(): number {
    return this.tails.size;
  }
}
