// The per-hub scheduler entity (`hubScheduler`, key = hub name): every configuration the connector
// keeps on a hub goes through it. Decisions only, no I/O: hubPlanner.ts decides, the applier
// orchestration (applierOrchestration.ts) runs the hub operations it hands out.
import type { EntityContext, EntityHandler } from "durable-functions";
import type { ActionResult } from "./applierProtocol.js";
import {
  chargeOutsideOperations,
  nextWork,
  recordResults,
  release,
  requestInventory,
  want,
} from "./hubPlanner.js";
import { parseCharge, parseRelease, parseWant } from "./schedulerInputs.js";
import {
  applySettings,
  newSchedulerState,
  schedulerView,
  type SchedulerSettings,
  type SchedulerState,
} from "./schedulerState.js";

/** One operation on the state; throws for an operation it does not know. */
function operate(state: SchedulerState, operation: string | undefined, input: unknown, now: number): unknown {
  switch (operation) {
    case "want":
      return want(state, parseWant(input), now);
    case "release":
      return release(state, parseRelease(input), now);
    case "next":
      return nextWork(state, now);
    case "report":
      return recordResults(state, (input as ActionResult[] | undefined) ?? [], now);
    case "charge":
      return chargeOutsideOperations(state, parseCharge(input), now);
    case "inventoryNeeded":
      return { wakeApplier: requestInventory(state, now) };
    case "status":
      return schedulerView(state);
    default:
      throw new Error(`hubScheduler: unknown operation "${String(operation)}"`);
  }
}

/** The entity function; `settingsOf` gives a hub's budget and grace (and refuses unknown hubs). */
export function createHubSchedulerEntity(
  settingsOf: (hub: string) => SchedulerSettings,
  clock: () => number = Date.now,
): EntityHandler<SchedulerState> {
  return (context: EntityContext<SchedulerState>) => {
    const settings = settingsOf(context.df.entityKey);
    const now = clock();
    const state = context.df.getState(() => newSchedulerState(settings, now))!;
    applySettings(state, settings);
    state.revision = (state.revision ?? 0) + 1;
    const result = operate(state, context.df.operationName, context.df.getInput(), now);
    context.df.setState(state);
    context.df.return(result);
  };
}
