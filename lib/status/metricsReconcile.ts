// The slow cross-check of event-driven status against the hub's own configuration metrics: one list
// call returns every configuration with `targetedCount`, `appliedCount`, and for IoT Edge deployments
// `reportedSuccessfulCount` and `reportedFailedCount`. They are compared with the stored statuses,
// summed over every instance's partitions (never with one instance's memory: the instance running
// the timer may read no partition at all), the last two with the statuses' `reported` counts, which
// count as the hub does. The hub computes metrics on its own cadence, so a disagreement only counts
// once it has lasted `graceMs`; then the repair is to read the hub's twins again (HubStatus.refill:
// two paged twin queries) and move every partition onto them, at most once per `minRefillIntervalMs`.
// Statuses that agree are never written.
import type { HubClient } from "../hub/hubClient.js";
import type { HubStatus } from "./hubStatus.js";
import type { FleetStatus } from "./statusContract.js";
import { StatusConflict, type ReconcileBookkeeping } from "./statusStore.js";

export interface ReconcileBudget {
  /** how long counts may disagree before anything is read (the hub's metrics lag) */
  graceMs: number;
  /** a refill reads every twin (10,000 devices: 20 of S1's 20 queries a minute): at most one in this time */
  minRefillIntervalMs: number;
}

export const DEFAULT_RECONCILE_BUDGET: ReconcileBudget = {
  graceMs: 10 * 60_000,
  minRefillIntervalMs: 60 * 60_000,
};

export interface ReconcileResult {
  compared: number;
  /** configurations whose stored counts differ from the hub's metrics now */
  disagreeing: string[];
  /** whether the hub's twins were read again */
  refilled: boolean;
}

function metric(results: Record<string, number> | undefined, name: string): number | undefined {
  const value = results?.[name];
  return typeof value === "number" ? value : undefined;
}

/** The counts that differ from the hub's metrics, named as the hub names them. */
export function metricDisagreements(
  fleet: FleetStatus,
  results: Record<string, number> | undefined,
): string[] {
  const pairs: [string, number | undefined][] = [
    ["targetedCount", fleet.counts.targeted],
    ["appliedCount", fleet.counts.applied],
    ["reportedSuccessfulCount", fleet.reported?.successful],
    ["reportedFailedCount", fleet.reported?.failed],
  ];
  return pairs.flatMap(([name, ours]) => {
    const theirs = metric(results, name);
    return theirs === undefined || ours === undefined || theirs === ours ? [] : [name];
  });
}

export async function reconcileWithHubMetrics(
  status: HubStatus,
  hub: HubClient,
  now: Date,
  budget: ReconcileBudget = DEFAULT_RECONCILE_BUDGET,
): Promise<ReconcileResult> {
  const result: ReconcileResult = { compared: 0, disagreeing: [], refilled: false };
  const stored = new Map((await status.storedStatuses()).map((fleet) => [fleet.configurationId, fleet]));
  const bookkeeping = await status.store.reconcileBookkeeping(status.hub);
  const before: ReconcileBookkeeping = bookkeeping?.value ?? { driftSince: {} };
  const driftSince: Record<string, string> = {};
  let repair = false;
  for (const configuration of await hub.listConfigurations()) {
    const fleet = stored.get(configuration.id);
    if (!fleet) continue; // not one of ours
    result.compared += 1;
    if (metricDisagreements(fleet, configuration.systemMetrics?.results).length === 0) continue;
    result.disagreeing.push(configuration.id);
    const since = before.driftSince[configuration.id] ?? now.toISOString();
    driftSince[configuration.id] = since;
    if (now.getTime() - Date.parse(since) >= budget.graceMs) repair = true;
  }
  const lastRefill = before.refilledAt === undefined ? undefined : Date.parse(before.refilledAt);
  let after: ReconcileBookkeeping = { ...before, driftSince };
  if (repair && (lastRefill === undefined || now.getTime() - lastRefill >= budget.minRefillIntervalMs)) {
    await status.refill();
    result.refilled = true;
    after = { driftSince: {}, refilledAt: now.toISOString() };
  }
  if (JSON.stringify(after) !== JSON.stringify(before)) {
    try {
      await status.store.saveReconcileBookkeeping(status.hub, after, bookkeeping?.etag);
    } catch (error) {
      // another timer run wrote first: its view stands, this one's is compared again next run
      if (!(error instanceof StatusConflict)) throw error;
    }
  }
  return result;
}
