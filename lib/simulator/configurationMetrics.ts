// A deployment's metrics as the hub computes them: the system metrics of an IoT Edge deployment
// (targetedCount, appliedCount, reportedSuccessfulCount, reportedFailedCount) with the hub's own queries,
// and the deployment's custom metric queries, each result being the number of matching rows.
import type { StoredConfiguration } from "./configurationStore.js";
import type { DeviceRegistry } from "./deviceRegistry.js";
import { cachedQuery, countMatches } from "./hubQuery.js";

export interface MetricSet {
  results: Record<string, number>;
  queries: Record<string, string>;
}

/** The system metric queries the hub attaches to an IoT Edge deployment. */
export function systemMetricQueries(configuration: StoredConfiguration): Record<string, string> {
  const condition = configuration.targetCondition.trim();
  const targeted =
    condition === "*"
      ? "SELECT deviceId FROM devices WHERE capabilities.iotEdge = true"
      : `SELECT deviceId FROM devices WHERE capabilities.iotEdge = true AND (${condition})`;
  const applied = `SELECT deviceId FROM devices.modules WHERE moduleId = '$edgeAgent' AND configurations.[[${configuration.id}]].status = 'Applied'`;
  return {
    targetedCount: targeted,
    appliedCount: applied,
    reportedSuccessfulCount: `${applied} AND properties.desired.$version = properties.reported.lastDesiredVersion AND properties.reported.lastDesiredStatus.code = 200`,
    reportedFailedCount: `${applied} AND properties.desired.$version = properties.reported.lastDesiredVersion AND properties.reported.lastDesiredStatus.code != 200`,
  };
}

function evaluate(registry: DeviceRegistry, queries: Record<string, string>): Record<string, number> {
  const results: Record<string, number> = {};
  for (const [name, text] of Object.entries(queries)) {
    results[name] = text.trim() === "" ? 0 : countMatches(registry, cachedQuery(text));
  }
  return results;
}

export function computeMetrics(
  registry: DeviceRegistry,
  configuration: StoredConfiguration,
): { systemMetrics: MetricSet; metrics: MetricSet } {
  const systemQueries = configuration.condition
    ? systemMetricQueries(configuration)
    : { ...systemMetricQueries(configuration), targetedCount: "" };
  return {
    systemMetrics: { results: evaluate(registry, systemQueries), queries: systemQueries },
    metrics: {
      results: evaluate(registry, configuration.metricQueries),
      queries: { ...configuration.metricQueries },
    },
  };
}
