// The fleet counts a configuration should show, computed straight from the simulator's twins with
// the status model's definitions (docs/status-model.md), independently of the app's pipeline. For
// base deployments with disjoint target conditions on tags.site, as the status tests build them.
import type { RunningSimulator } from "../../dev/simulator/simulator.js";
import type { FleetCounts } from "../../lib/status/statusContract.js";

type Twin = Record<string, unknown>;

function at(value: unknown, ...path: string[]): unknown {
  let current = value;
  for (const key of path)
    current = typeof current === "object" && current !== null ? (current as Twin)[key] : undefined;
  return current;
}

export interface TruthConfiguration {
  id: string;
  site: string;
  modules: string[];
}

export function fleetTruth(
  simulator: RunningSimulator,
  deviceIds: readonly string[],
  configuration: TruthConfiguration,
): FleetCounts {
  const counts: FleetCounts = { targeted: 0, applied: 0, running: 0, failed: 0, offline: 0 };
  for (const deviceId of deviceIds) {
    const device = simulator.fleet.deviceTwin(deviceId);
    if (at(device, "tags", "site") !== configuration.site) continue;
    counts.targeted += 1;
    if (device["connectionState"] !== "Connected") counts.offline += 1;
    let agent: Twin;
    try {
      agent = simulator.fleet.moduleTwin(deviceId, "$edgeAgent");
    } catch {
      continue; // no deployment reached the device yet
    }
    if (at(agent, "configurations", configuration.id, "status") !== "Applied") continue;
    counts.applied += 1;
    const desired = at(agent, "properties", "desired", "$version");
    const processed = at(agent, "properties", "reported", "lastDesiredVersion");
    const inSync = typeof processed === "number" && typeof desired === "number" && processed >= desired;
    const code = at(agent, "properties", "reported", "lastDesiredStatus", "code");
    const statuses = configuration.modules.map((module) =>
      at(agent, "properties", "reported", "modules", module, "runtimeStatus"),
    );
    const rejected = inSync && code !== 200;
    const moduleFailing =
      inSync && statuses.some((s) => s === "backoff" || s === "failed" || s === "unhealthy");
    if (rejected || moduleFailing) counts.failed += 1;
    else if (inSync && statuses.every((s) => s === "running")) counts.running += 1;
  }
  return counts;
}
