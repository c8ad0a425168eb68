// Prometheus metrics of the Functions app's hub calls: every attempt any of its hub clients makes
// (the provider's, the status pipeline's and the scheduler applier's), by hub name, operation kind
// and outcome. One registry per ConnectorApp, so counts are per process (per app instance).
import { Counter, Registry } from "prom-client";
import type { HubAttemptEvent } from "../hub/hubCallStats.js";

export class HubMetrics {
  readonly registry = new Registry();
  private readonly requests = new Counter({
    name: "connector_hub_requests_total",
    help: "Requests this app instance sent to a hub (every attempt, retries included), by hub name, operation and outcome",
    labelNames: ["hub", "operation", "outcome"] as const,
    registers: [this.registry],
  });

  /** Counts one attempt on the hub of this name (the app's setting name, never a connection string). */
  count(hub: string, event: HubAttemptEvent): void {
    this.requests.inc({ hub, operation: event.kind, outcome: event.outcome });
  }

  /** The Prometheus text exposition. */
  exposition(): Promise<string> {
    return this.registry.metrics();
  }

  get contentType(): string {
    return this.registry.contentType;
  }
}
