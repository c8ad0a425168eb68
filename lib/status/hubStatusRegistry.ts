// One HubStatus per hub per process, opened on first use and kept for later invocations. Work that
// fails (a table write refused because another instance changed the row, storage or the hub
// unreachable) drops what may be ahead of or behind the table, so that the next invocation (the
// trigger's retry) loads it again: the failed batch's partition alone when the failure was its own,
// else the hub's whole status. The hub's fill is kept across reopenings while the table still names it.
import type { HubFill } from "./hubFill.js";
import { HubStatus, PartitionBatchFailed, type HubStatusOptions } from "./hubStatus.js";

export class HubStatusRegistry {
  private readonly opened = new Map<string, Promise<HubStatus>>();
  private readonly fills = new Map<string, HubFill>();

  constructor(private readonly optionsFor: (hub: string) => HubStatusOptions) {}

  get(hub: string): Promise<HubStatus> {
    let status = this.opened.get(hub);
    if (!status) {
      const knownFill = this.fills.get(hub);
      status = HubStatus.open({ ...this.optionsFor(hub), ...(knownFill && { knownFill }) });
      status.then(
        (opened) => this.fills.set(hub, opened.currentFill),
        () => this.opened.delete(hub),
      );
      this.opened.set(hub, status);
    }
    return status;
  }

  /**
   * Runs `work` on the hub's status. If it fails, the status is dropped (and loaded again next time),
   * unless only one partition's batch failed: HubStatus let that partition go already.
   */
  async use<T>(hub: string, work: (status: HubStatus) => Promise<T>): Promise<T> {
    const opening = this.get(hub);
    const status = await opening;
    try {
      return await work(status);
    } catch (error) {
      if (error instanceof PartitionBatchFailed) throw error.cause;
      if (this.opened.get(hub) === opening) this.opened.delete(hub);
      this.fills.set(hub, status.currentFill);
      throw error;
    }
  }
}
