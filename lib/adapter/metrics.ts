// Prometheus metrics of one adapter: its own registry (no global state, so tests can run several).
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from "prom-client";

export interface AdapterMetrics {
  registry: Registry;
  queueDepth: Gauge;
  providerLatency: Histogram<"route" | "outcome">;
  errors: Counter<"kind">;
  providerReachable: Gauge;
  providerUnreachableSince: Gauge;
}

export function createAdapterMetrics(): AdapterMetrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  return {
    registry,
    queueDepth: new Gauge({
      name: "adapter_work_queue_depth",
      help: "Pods waiting in the work queue (ready or backing off)",
      registers: [registry],
    }),
    providerLatency: new Histogram({
      name: "adapter_provider_call_seconds",
      help: "Latency of provider API calls by route and outcome",
      labelNames: ["route", "outcome"],
      buckets: [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers: [registry],
    }),
    errors: new Counter({
      name: "adapter_errors_total",
      help: "Errors by kind (pod sync, status write, node status, lease, provider)",
      labelNames: ["kind"],
      registers: [registry],
    }),
    providerReachable: new Gauge({
      name: "adapter_provider_reachable",
      help: "1 while the connector's Functions app answers the node's status requests, 0 while it does not",
      registers: [registry],
    }),
    providerUnreachableSince: new Gauge({
      name: "adapter_provider_unreachable_since_seconds",
      help: "Unix time the Functions app stopped answering (0 while it answers)",
      registers: [registry],
    }),
  };
}
