// A timer (SWEEP_SCHEDULE) that makes each hub, its scheduler and the pods agree after any failure
// (lib/provider/configurationSweep.ts).
import { app, type InvocationContext } from "@azure/functions";
import * as df from "durable-functions";
import { connectorApp } from "../lib/app/connectorApp.js";
import { sweepWorkflows } from "../lib/app/durableWorkflows.js";
import { redact } from "../lib/hub/redact.js";
import { sweepHub } from "../lib/provider/configurationSweep.js";

async function sweep(context: InvocationContext): Promise<void> {
  const connector = connectorApp();
  const workflows = sweepWorkflows(df.getClient(context), (hub) => connector.traffic(hub));
  for (const { name: hub } of connector.settings.hubs) {
    try {
      const base = connector.baseDeployment(hub);
      const result = await sweepHub({
        hub,
        workflows,
        records: connector.records,
        listConfigurations: () => connector.hubClient(hub).listConfigurations(),
        ...(base !== undefined && { baseConfigurationId: base.id }),
        now: () => new Date(),
      });
      context.log(
        `configuration sweep on ${hub}: ${result.restart} orchestrations restarted, ${result.resync} pods sent their spec again, ${result.release} holders released, ${result.adopt} orphans adopted`,
      );
    } catch (error) {
      // One hub's failure does not stop the others; the next run tries again.
      context.error(
        `configuration sweep on ${hub} failed: ${redact(error instanceof Error ? error.message : String(error))}`,
      );
    }
  }
}

function register(): void {
  let schedule: string;
  try {
    schedule = connectorApp().settings.sweepSchedule;
  } catch {
    return; // twinEvents.ts reports the settings problem
  }
  app.timer("configurationSweep", {
    schedule,
    extraInputs: [df.input.durableClient()],
    handler: (_timer, context) => sweep(context),
  });
}

register();
