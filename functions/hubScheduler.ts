// The per-hub scheduler entity (`hubScheduler`, key = hub name): every configuration the connector
// keeps on a hub goes through it. Decisions only, no I/O: lib/scheduler/hubPlanner.ts decides, the
// applier orchestration (hubSchedulerApplier.ts) runs the hub operations it hands out.
import * as df from "durable-functions";
import { readAppSettings, type AppSettings } from "../lib/app/settings.js";
import type { ActionResult } from "../lib/scheduler/applierProtocol.js";
import { nextWork, recordResults, release, requestInventory, want } from "../lib/scheduler/hubPlanner.js";
import { hubSchedulerEntityName } from "../lib/scheduler/schedulerContract.js";
import { parseRelease, parseWant, schedulerSettings } from "../lib/scheduler/schedulerInputs.js";
import {
  applySettings,
  newSchedulerState,
  schedulerView,
  type SchedulerState,
} from "../lib/scheduler/schedulerState.js";

let settings: AppSettings | undefined;
/** The app's settings, read and checked once per process. */
export function appSettings(): AppSettings {
  settings ??= readAppSettings(process.env);
  return settings;
}

df.app.entity<SchedulerState>(hubSchedulerEntityName, (context) => {
  const hub = context.df.entityKey;
  const hubSettings = schedulerSettings(appSettings(), hub);
  const now = Date.now();
  const state = context.df.getState(() => newSchedulerState(hubSettings, now))!;
  applySettings(state, hubSettings);
  const operation = context.df.operationName;
  let result: unknown;
  switch (operation) {
    case "want":
      result = want(state, parseWant(context.df.getInput()), now);
      break;
    case "release":
      result = release(state, parseRelease(context.df.getInput()), now);
      break;
    case "next":
      result = nextWork(state, now);
      break;
    case "report":
      result = recordResults(state, context.df.getInput<ActionResult[]>() ?? [], now);
      break;
    case "inventoryNeeded":
      result = { wakeApplier: requestInventory(state, now) };
      break;
    case "status":
      result = schedulerView(state);
      break;
    default:
      throw new Error(`hubScheduler: unknown operation "${String(operation)}"`);
  }
  context.df.setState(state);
  context.df.return(result);
});
