// When the hub's trouble is shown: the scheduler absorbs a short spell of 429s (a burst, a Retry-After
// of seconds) without anyone needing to know; trouble that has lasted a minute is the node's
// HubReachable=False and the message of every pod still waiting for the hub (docs/status-model.md).
import type { HubSchedulerView, HubTrouble } from "../scheduler/schedulerContract.js";

export const hubTroubleShownAfterMs = 60_000;

/** The scheduler's hub trouble if it has lasted long enough to be shown at `now`. */
export function shownHubTrouble(view: HubSchedulerView | undefined, now: Date): HubTrouble | undefined {
  const trouble = view?.hubTrouble;
  if (trouble === undefined) return undefined;
  return now.getTime() - Date.parse(trouble.since) >= hubTroubleShownAfterMs ? trouble : undefined;
}
