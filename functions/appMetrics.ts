// The app's metrics in Prometheus text (lib/app/appMetrics.ts): hub requests by budget, caller and outcome.
import { app } from "@azure/functions";
import { appMetricsRegistry, appMetricsRoute } from "../lib/app/appMetrics.js";
import { connectorApp } from "../lib/app/connectorApp.js";

app.http("appMetrics", {
  route: appMetricsRoute,
  methods: ["GET"],
  authLevel: "function",
  handler: async () => {
    const connector = connectorApp();
    const hubs = connector.settings.hubs.map((hub) => hub.name);
    const registry = appMetricsRegistry(hubs, (hub) => connector.traffic(hub));
    return { body: await registry.metrics(), headers: { "content-type": registry.contentType } };
  },
});
