// The slow cross-check of event-driven status against the hub's own configuration metrics (one
// list call returns every configuration with `targetedCount` and `appliedCount`). The hub computes
// metrics on its own cadence, so a disagreement only counts once it has lasted `graceMs`. Then the
// devices involved are read again, within a budget: those the cache marked stale, and the devices a
// twin query of the configuration's target condition finds that the cache does not count. If the
// counts still disagree, the status takes the hub's numbers and says so (`source: "hubMetrics"`).
import type { HubClient } from "../hub/hubClient.js";
import { TWIN_QUERY_PAGE_SIZE } from "./deviceCache.js";
import type { HubStatus } from "./hubStatus.js";

export interface ReconcileBudget {
  /** how long counts may disagree before anything is read (the hub's metrics lag) */
  graceMs: number;
  /** twin queries per run (S1 allows 20 a minute for everything) */
  maxQueries: number;
  /** devices read again per run (two twin reads each) */
  maxRefreshes: number;
}

export const DEFAULT_RECONCILE_BUDGET: ReconcileBudget = {
  graceMs: 10 * 60_000,
  maxQueries: 2,
  maxRefreshes: 50,
};

export interface ReconcileResult {
  compared: number;
  disagreeing: number;
  refreshed: number;
  queries: number;
  /** configurations whose status now carries the hub's counts */
  fromHubMetrics: string[];
}

function metric(results: Record<string, number> | undefined, name: string): number | undefined {
  const value = results?.[name];
  return typeof value === "number" ? value : undefined;
}

export async function reconcileWithHubMetrics(
  status: HubStatus,
  hub: HubClient,
  now: Date,
  budget: ReconcileBudget = DEFAULT_RECONCILE_BUDGET,
): Promise<ReconcileResult> {
  const result: ReconcileResult = {
    compared: 0,
    disagreeing: 0,
    refreshed: 0,
    queries: 0,
    fromHubMetrics: [],
  };
  const stale = status.cache.staleDevices();
  result.refreshed += await status.refreshDevices(stale, budget.maxRefreshes);

  const drift = status.drift;
  for (const configuration of await hub.listConfigurations()) {
    const fleet = status.fleet.status(configuration.id);
    if (!fleet) continue; // not one of ours
    const targeted = metric(configuration.systemMetrics?.results, "targetedCount");
    const applied = metric(configuration.systemMetrics?.results, "appliedCount");
    if (targeted === undefined || applied === undefined) continue;
    result.compared += 1;
    if (targeted === fleet.counts.targeted && applied === fleet.counts.applied) {
      delete drift[configuration.id];
      continue;
    }
    result.disagreeing += 1;
    const since = drift[configuration.id];
    if (since === undefined) {
      drift[configuration.id] = now.toISOString();
      continue;
    }
    if (now.getTime() - Date.parse(since) < budget.graceMs) continue;

    if (result.queries < budget.maxQueries && result.refreshed < budget.maxRefreshes) {
      result.queries += 1;
      const counted = status.fleet.targetedDevices(configuration.id);
      const countedSet = new Set(counted);
      // First devices the hub targets that the cache does not, then targeted ones the cache sees unapplied.
      const suspects: string[] = [];
      const query = `SELECT deviceId FROM devices WHERE capabilities.iotEdge = true AND (${configuration.targetCondition})`;
      for await (const page of hub.queryTwins(query, { pageSize: TWIN_QUERY_PAGE_SIZE }))
        for (const twin of page) if (!countedSet.has(twin.deviceId)) suspects.push(twin.deviceId);
      for (const deviceId of counted)
        if (status.cache.get(deviceId)?.agent.configurations[configuration.id] !== "Applied")
          suspects.push(deviceId);
      result.refreshed += await status.refreshDevices(suspects, budget.maxRefreshes - result.refreshed);
    }
    const after = status.fleet.status(configuration.id);
    if (after && (after.counts.targeted !== targeted || after.counts.applied !== applied)) {
      await status.useHubMetrics(configuration.id, { targeted, applied });
      result.fromHubMetrics.push(configuration.id);
    } else delete drift[configuration.id];
  }
  await status.saveBookkeeping();
  return result;
}
