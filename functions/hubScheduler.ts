// The per-hub scheduler entity (lib/scheduler/hubSchedulerEntity.ts), key = hub name.
import * as df from "durable-functions";
import { connectorApp } from "../lib/app/connectorApp.js";
import { createHubSchedulerEntity } from "../lib/scheduler/hubSchedulerEntity.js";
import { hubSchedulerEntityName } from "../lib/scheduler/schedulerContract.js";

df.app.entity(
  hubSchedulerEntityName,
  createHubSchedulerEntity((hub) => connectorApp().schedulerSettings(hub)),
);
