// The app's Prometheus metrics, served at `GET /api/v1/metrics` (function key): every request this
// process sent each hub, by the hub budget it spends, who sent it and how it ended. Per process: on
// several instances each serves its own counts.
import { Counter, Registry } from "prom-client";
import type { HubTraffic } from "../hub/hubTraffic.js";

export const appMetricsRoute = "v1/metrics";

export function appMetricsRegistry(
  hubs: readonly string[],
  trafficOf: (hub: string) => HubTraffic,
): Registry {
  const registry = new Registry();
  new Counter({
    name: "connector_hub_requests_total",
    help: "Requests sent to IoT Hub by hub, budget (configurations, queries, twinReads, twinUpdates, directMethods), caller (scheduler or app) and outcome",
    labelNames: ["hub", "budget", "caller", "outcome"],
    registers: [registry],
    collect() {
      this.reset();
      for (const hub of hubs)
        for (const { budget, caller, outcome, count } of trafficOf(hub).requests())
          this.inc({ hub, budget, caller, outcome }, count);
    },
  });
  return registry;
}
