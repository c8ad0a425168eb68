// A hub in trouble, for the connector's outage tests: while an outage lasts, every REST request is
// answered with the same error, 429 ThrottlingException (with Retry-After) or 503 ServiceUnavailable,
// before it is admitted or served. The edge devices and the Event Hub-compatible endpoint go on.
import { HubRestError } from "./restErrors.js";

export type HubOutageKind = "throttled" | "unavailable";

export class HubOutage {
  private kind: HubOutageKind | undefined;
  /** Requests refused by outages so far. */
  refused = 0;

  /** Starts (or changes) the outage; `undefined` ends it. */
  set(kind: HubOutageKind | undefined): void {
    this.kind = kind;
  }

  /** Throws the outage's error while there is one. */
  check(): void {
    if (this.kind === undefined) return;
    this.refused += 1;
    if (this.kind === "throttled")
      throw new HubRestError(429, "ThrottlingException", "Throttling limit exceeded (simulated outage)", {
        "Retry-After": "5",
      });
    throw new HubRestError(503, "ServiceUnavailable", "The service is unavailable (simulated outage)");
  }
}
