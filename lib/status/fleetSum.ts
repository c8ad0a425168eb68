// A configuration's fleet status is kept in parts, one per Event Hubs partition (the devices whose
// events arrive there, owned by whichever app instance reads the partition) plus one for the
// devices the hub's twins were filled from and no partition has reported on since. A part is a
// FleetStatus of its own; the one the API shows is their sum.
//
// Counts, per-module running, overridden and restart counts add up; where a partition counts a filled device
// it subtracts the device's filled state (the fill part still counts it), so the fill part carries
// only those additive figures. The device lists (running on, worst state, last termination,
// failures) come from the partitions. A part's version is the serial of its row's last write that
// changed it (or the row's serial when the row has no part for the configuration): the sum only grows.
import { MAX_LISTED_FAILURES, MAX_LISTED_RUNNING, SEVERITY } from "./fleetStatus.js";
import type { FleetCounts, FleetStatus } from "./statusContract.js";

type ModuleStatus = FleetStatus["modules"][string];

const COUNT_NAMES = ["targeted", "applied", "running", "failed", "offline"] as const;

/** The additive figures of `status` minus those of `base` (the filled states of the same devices). */
export function withoutBase(status: FleetStatus, base: FleetStatus | undefined): FleetStatus {
  if (!base) return status;
  const counts = { ...status.counts };
  for (const name of COUNT_NAMES) counts[name] -= base.counts[name];
  const modules: FleetStatus["modules"] = {};
  for (const [name, module] of Object.entries(status.modules)) {
    const baseModule = base.modules[name];
    modules[name] = {
      ...module,
      running: module.running - (baseModule?.running ?? 0),
      restartCount: module.restartCount - (baseModule?.restartCount ?? 0),
      ...(module.overridden !== undefined && {
        overridden: module.overridden - (baseModule?.overridden ?? 0),
      }),
    };
  }
  const reported = status.reported &&
    base.reported && {
      successful: status.reported.successful - base.reported.successful,
      failed: status.reported.failed - base.reported.failed,
    };
  return { ...status, counts, modules, ...(reported && { reported }) };
}

/** Only the additive figures: what the fill part keeps of a status computed over filled states. */
export function additiveOnly(status: FleetStatus): FleetStatus {
  const modules: FleetStatus["modules"] = {};
  for (const [name, module] of Object.entries(status.modules))
    modules[name] = {
      running: module.running,
      restartCount: module.restartCount,
      ...(module.overridden !== undefined && { overridden: module.overridden }),
    };
  return { ...status, modules, failures: [] };
}

/** Whether two parts say the same (their version and computation time aside). */
export function samePart(a: FleetStatus | undefined, b: FleetStatus | undefined): boolean {
  if (!a || !b) return a === b;
  const { version: _v1, computedAt: _c1, ...restA } = a;
  const { version: _v2, computedAt: _c2, ...restB } = b;
  return JSON.stringify(restA) === JSON.stringify(restB);
}

export interface FleetPartsRow {
  /** increases with every write of the row */
  serial: number;
  statuses: Record<string, FleetStatus>;
}

function sumModules(parts: readonly FleetStatus[], name: string): ModuleStatus {
  const sum: ModuleStatus = { running: 0, restartCount: 0 };
  const runningOn: string[] = [];
  for (const part of parts) {
    const module = part.modules[name];
    if (!module) continue;
    sum.running += module.running;
    sum.restartCount += module.restartCount;
    if (module.overridden !== undefined) sum.overridden = (sum.overridden ?? 0) + module.overridden;
    runningOn.push(...(module.runningOn ?? []));
    const worst = module.worst;
    if (
      worst &&
      (!sum.worst ||
        SEVERITY[worst.state.runtimeStatus] > SEVERITY[sum.worst.state.runtimeStatus] ||
        (SEVERITY[worst.state.runtimeStatus] === SEVERITY[sum.worst.state.runtimeStatus] &&
          worst.deviceId < sum.worst.deviceId))
    )
      sum.worst = worst;
    const last = module.lastTermination;
    if (last && (!sum.lastTermination || (last.finishedAt ?? "") > (sum.lastTermination.finishedAt ?? "")))
      sum.lastTermination = last;
  }
  sum.running = Math.max(0, sum.running);
  sum.restartCount = Math.max(0, sum.restartCount);
  if (sum.overridden !== undefined) sum.overridden = Math.max(0, sum.overridden);
  if (runningOn.length > 0) sum.runningOn = runningOn.sort().slice(0, MAX_LISTED_RUNNING);
  return sum;
}

/** The configuration's status summed over the rows' parts; undefined when no row has a part for it. */
export function sumFleetStatus(
  configurationId: string,
  rows: readonly FleetPartsRow[],
): FleetStatus | undefined {
  const parts = rows.flatMap((row) => row.statuses[configurationId] ?? []);
  if (parts.length === 0) return undefined;
  const counts: FleetCounts = { targeted: 0, applied: 0, running: 0, failed: 0, offline: 0 };
  let reported: FleetStatus["reported"] = { successful: 0, failed: 0 };
  for (const part of parts) {
    for (const name of COUNT_NAMES) counts[name] += part.counts[name];
    if (reported && part.reported) {
      reported.successful += part.reported.successful;
      reported.failed += part.reported.failed;
    } else reported = undefined;
  }
  // A moment's disagreement between parts (one computed before a configuration change, one after)
  // must not show as a negative count.
  for (const name of COUNT_NAMES) counts[name] = Math.max(0, counts[name]);
  if (reported)
    reported = { successful: Math.max(0, reported.successful), failed: Math.max(0, reported.failed) };
  const moduleNames = [...new Set(parts.flatMap((part) => Object.keys(part.modules)))].sort();
  const modules = Object.fromEntries(moduleNames.map((name) => [name, sumModules(parts, name)]));
  const failures = parts
    .flatMap((part) => part.failures)
    .sort((a, b) => (a.deviceId < b.deviceId ? -1 : a.deviceId > b.deviceId ? 1 : 0))
    .slice(0, MAX_LISTED_FAILURES);
  // Which condition the sum was counted with, only when every row counted this one with the same:
  // a row without a part, or with a part of the previous condition, has not evaluated it yet.
  const conditions = new Set(parts.map((part) => part.targetCondition));
  const [targetCondition] = conditions;
  const evaluated = parts.length === rows.length && conditions.size === 1 && targetCondition !== undefined;
  return {
    configurationId,
    ...(evaluated && { targetCondition }),
    counts,
    modules,
    ...(reported && { reported }),
    failures,
    computedAt: parts
      .map((part) => part.computedAt)
      .sort()
      .at(-1)!,
    source: "events",
    version: rows.reduce((sum, row) => sum + (row.statuses[configurationId]?.version ?? row.serial), 0),
  };
}

/** Every configuration any row has a part for, summed. */
export function sumFleetStatuses(rows: readonly FleetPartsRow[]): FleetStatus[] {
  const ids = [...new Set(rows.flatMap((row) => Object.keys(row.statuses)))].sort();
  return ids.flatMap((id) => sumFleetStatus(id, rows) ?? []);
}
