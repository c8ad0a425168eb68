// One HubStatus per hub per process, opened on first use (loading the cache from the status table,
// or filling it from the hub the first time) and kept for later invocations. A failed open is
// forgotten so the next invocation tries again.
import { HubStatus, type HubStatusOptions } from "./hubStatus.js";

export class HubStatusRegistry {
  private readonly opened = new Map<string, Promise<HubStatus>>();

  constructor(private readonly optionsFor: (hub: string) => HubStatusOptions) {}

  get(hub: string): Promise<HubStatus> {
    let status = this.opened.get(hub);
    if (!status) {
      status = HubStatus.open(this.optionsFor(hub));
      status.catch(() => this.opened.delete(hub));
      this.opened.set(hub, status);
    }
    return status;
  }
}
