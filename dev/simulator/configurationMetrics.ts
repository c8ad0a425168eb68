// A deployment's metrics as the hub computes them: the system metrics of an IoT Edge deployment
// (targetedCount, appliedCount, reportedSuccessfulCount, reportedFailedCount) with the hub's own queries,
// and the deployment's custom metric queries, each result being the number of matching rows.
import type { ConfigurationStore, StoredConfiguration } from "./configurationStore.js";
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

function computeMetrics(
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

/** Metrics per deployment, recomputed only when a twin, a device or a deployment changed since. */
export class MetricsCache {
  private readonly cache = new Map<
    string,
    { revision: string; metrics: ReturnType<typeof computeMetrics> }
  >();

  constructor(
    private readonly registry: DeviceRegistry,
    private readonly configurations: ConfigurationStore,
  ) {}

  metricsOf(configuration: StoredConfiguration): { systemMetrics: MetricSet; metrics: MetricSet } {
    const revision = `${this.registry.changeCount}/${this.configurations.revision}`;
    const cached = this.cache.get(configuration.id);
    if (cached?.revision === revision) return cached.metrics;
    if (this.cache.size > this.configurations.all().length * 2) this.cache.clear();
    const metrics = computeMetrics(this.registry, configuration);
    this.cache.set(configuration.id, { revision, metrics });
    return metrics;
  }
}
