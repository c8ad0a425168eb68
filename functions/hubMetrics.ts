// GET /api/metrics: the Prometheus text of this app instance's hub requests (lib/app/hubMetrics.ts).
// authLevel "admin": only the host's master key reads it; the virtual nodes' keys are function keys
// and live in clusters, so "function" would open it to every node.
import { app } from "@azure/functions";
import { connectorApp } from "../lib/app/connectorApp.js";

app.http("hubMetrics", {
  route: "metrics",
  methods: ["GET"],
  authLevel: "admin",
  handler: async () => {
    const { hubMetrics } = connectorApp();
    return { body: await hubMetrics.exposition(), headers: { "content-type": hubMetrics.contentType } };
  },
});
