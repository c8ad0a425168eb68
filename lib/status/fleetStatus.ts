// Fleet status per managed configuration, computed from the device cache: which devices a
// configuration targets (its target condition evaluated locally, with the hub's rule that among
// matching base deployments only the highest priority one is applied, while every matching layered
// deployment is), and of those how many applied it, run every module, report a failure or are offline.
// The hub merges the layers over the base in priority order, so a module that a layer merged later
// also defines is that layer's module on the device (a staged rollout's new configuration over the
// old one): a configuration whose every module is overridden on a device does not count the device;
// one partly overridden counts it, judged by the modules that stay its own.
// Work is incremental: a changed device re-evaluates its own targets and marks dirty only the
// configurations it enters, leaves or belongs to; only dirty configurations are recounted.
import { isDeepStrictEqual } from "node:util";
import {
  evaluateTwinCondition,
  parseTargetCondition,
  type Condition,
  type TwinObject,
} from "../hub/twinQuery.js";
import type { ManagedConfiguration } from "../scheduler/schedulerContract.js";
import type { DeviceCache } from "./deviceCache.js";
import type { DeviceState } from "./deviceState.js";
import type { DeviceModuleState, FleetStatus } from "./statusContract.js";

/** At most this many failing devices are named in a status. */
export const MAX_LISTED_FAILURES = 5;
/** At most this many devices running a module are named in a status (for container logs). */
export const MAX_LISTED_RUNNING = 10;

/** Worst first: the state a container status shows when devices disagree. */
export const SEVERITY: Record<DeviceModuleState["runtimeStatus"], number> = {
  failed: 5,
  backoff: 4,
  unhealthy: 3,
  stopped: 2,
  unknown: 1,
  running: 0,
};
const FAILING: ReadonlySet<string> = new Set(["failed", "backoff", "unhealthy"]);

interface TrackedConfiguration {
  spec: Pick<ManagedConfiguration, "id" | "kind" | "targetCondition" | "priority" | "modules">;
  /** undefined when the condition cannot be parsed: it targets nothing */
  condition: Condition | undefined;
  targets: Set<string>;
  status: FleetStatus | undefined;
}

/** The twin a target condition sees: what the cache keeps of the device twin. */
function conditionTwin(device: DeviceState): TwinObject {
  return { deviceId: device.deviceId, tags: device.tags, capabilities: { iotEdge: true } };
}

function parseCondition(text: string): Condition | undefined {
  try {
    return parseTargetCondition(text);
  } catch {
    return undefined;
  }
}

/** Whether edgeAgent has processed the desired properties the hub last gave it. */
function inSync(device: DeviceState): boolean {
  const processed = device.agent.lastDesiredVersion;
  return processed !== undefined && processed >= device.agent.desiredVersion;
}

function desiredFailure(device: DeviceState): string | undefined {
  const status = device.agent.lastDesiredStatus;
  if (!inSync(device) || status === undefined || status.code === 200) return undefined;
  return `edgeAgent rejected the deployment (${status.code}${status.description ? `: ${status.description}` : ""})`;
}

function isRealTime(value: string | undefined): value is string {
  return value !== undefined && Date.parse(value) > Date.UTC(2000, 0, 1);
}

export class FleetTracker {
  private readonly configurations = new Map<string, TrackedConfiguration>();
  /** device id → ids of the configurations that target it */
  private readonly targetsOf = new Map<string, Set<string>>();
  private readonly dirty = new Set<string>();
  private versionCounter = 0;

  constructor(
    private readonly hub: string,
    private readonly cache: DeviceCache,
    private readonly now: () => Date = () => new Date(),
    /** the last versions handed out, so versions stay monotonic across restarts */
    initialVersion = 0,
  ) {
    this.versionCounter = initialVersion;
  }

  get hubName(): string {
    return this.hub;
  }

  /**
   * Sets the managed configurations (the scheduler's view). New or changed ones (target condition,
   * priority, kind, modules) are evaluated over every cached device; removed ones are forgotten.
   */
  setConfigurations(managed: Iterable<ManagedConfiguration>): void {
    const next = new Map<string, ManagedConfiguration>();
    for (const configuration of managed) next.set(configuration.id, configuration);
    let membershipChanged = false;
    for (const [id, tracked] of this.configurations) {
      if (!next.has(id)) {
        this.configurations.delete(id);
        this.dirty.delete(id);
        for (const deviceId of tracked.targets) this.targetsOf.get(deviceId)?.delete(id);
        membershipChanged = true;
      }
    }
    for (const configuration of next.values()) {
      const spec = {
        id: configuration.id,
        kind: configuration.kind,
        targetCondition: configuration.targetCondition,
        priority: configuration.priority,
        modules: configuration.modules,
      };
      const tracked = this.configurations.get(configuration.id);
      if (tracked && isDeepStrictEqual(tracked.spec, spec)) continue;
      this.configurations.set(configuration.id, {
        spec,
        condition: parseCondition(spec.targetCondition),
        targets: tracked?.targets ?? new Set(),
        status: tracked?.status,
      });
      this.dirty.add(configuration.id);
      membershipChanged = true;
    }
    // A configuration that comes or goes can outrank or override another on devices it never
    // shared (or stop doing so): evaluate them all.
    if (membershipChanged) this.devicesChanged([...this.cache.all()].map((device) => device.deviceId));
  }

  /** Re-evaluates what these devices are targeted by and marks the affected configurations dirty. */
  devicesChanged(deviceIds: Iterable<string>): void {
    for (const deviceId of deviceIds) {
      const before = this.targetsOf.get(deviceId) ?? new Set<string>();
      const device = this.cache.get(deviceId);
      const after = device ? this.targetsFor(device) : new Set<string>();
      for (const id of before) {
        this.dirty.add(id);
        if (!after.has(id)) this.configurations.get(id)?.targets.delete(deviceId);
      }
      for (const id of after) {
        this.dirty.add(id);
        this.configurations.get(id)?.targets.add(deviceId);
      }
      if (after.size > 0) this.targetsOf.set(deviceId, after);
      else this.targetsOf.delete(deviceId);
    }
  }

  /** The configurations that target the device: every matching layered one and the winning base one. */
  private targetsFor(device: DeviceState): Set<string> {
    const twin = conditionTwin(device);
    const targets = new Set<string>();
    let base: TrackedConfiguration | undefined;
    for (const tracked of this.configurations.values()) {
      if (!tracked.condition || !evaluateTwinCondition(tracked.condition, twin)) continue;
      if (tracked.spec.kind === "layered") targets.add(tracked.spec.id);
      else if (!base || this.outranks(tracked, base, device)) base = tracked;
    }
    if (base) targets.add(base.spec.id);
    for (const id of [...targets]) {
      const tracked = this.configurations.get(id) as TrackedConfiguration;
      const names = Object.keys(tracked.spec.modules);
      const overridden = this.overriddenModules(tracked, targets);
      if (names.length > 0 && names.every((name) => overridden.has(name))) targets.delete(id);
    }
    return targets;
  }

  /**
   * The modules of `tracked` that a configuration merged after it on the device defines too: a
   * layered one above a base one, or above a layered one of lower priority. Equal layered priorities
   * merge in creation order, which the scheduler's view does not carry: neither overrides the other.
   */
  private overriddenModules(tracked: TrackedConfiguration, onDevice: Iterable<string>): Set<string> {
    const overridden = new Set<string>();
    for (const id of onDevice) {
      const other = this.configurations.get(id);
      if (!other || other === tracked || other.spec.kind !== "layered") continue;
      if (tracked.spec.kind === "layered" && other.spec.priority <= tracked.spec.priority) continue;
      for (const name of Object.keys(other.spec.modules))
        if (name in tracked.spec.modules) overridden.add(name);
    }
    return overridden;
  }

  /** The modules of the configuration that are its own on a device it targets. */
  private ownModules(tracked: TrackedConfiguration, deviceId: string): string[] {
    const overridden = this.overriddenModules(tracked, this.targetsOf.get(deviceId) ?? []);
    return Object.keys(tracked.spec.modules).filter((name) => !overridden.has(name));
  }

  /** Higher priority wins; on a tie the hub applies the newest, which the device reports as Applied. */
  private outranks(a: TrackedConfiguration, b: TrackedConfiguration, device: DeviceState): boolean {
    if (a.spec.priority !== b.spec.priority) return a.spec.priority > b.spec.priority;
    const aApplied = device.agent.configurations[a.spec.id] === "Applied";
    const bApplied = device.agent.configurations[b.spec.id] === "Applied";
    if (aApplied !== bApplied) return aApplied;
    return a.spec.id < b.spec.id;
  }

  /** Recounts the dirty configurations; returns the statuses that changed (with a new version). */
  update(): FleetStatus[] {
    const changed: FleetStatus[] = [];
    for (const id of this.dirty) {
      const tracked = this.configurations.get(id);
      if (!tracked) continue;
      const computed = this.compute(tracked);
      const previous = tracked.status;
      if (
        previous &&
        isDeepStrictEqual(
          { ...previous, computedAt: "", version: 0 },
          { ...computed, computedAt: "", version: 0 },
        )
      )
        continue;
      this.versionCounter += 1;
      tracked.status = { ...computed, version: this.versionCounter };
      changed.push(tracked.status);
    }
    this.dirty.clear();
    return changed;
  }

  /** The last computed status of a configuration (call `update` first to include recent changes). */
  status(configurationId: string): FleetStatus | undefined {
    return this.configurations.get(configurationId)?.status;
  }

  /** The highest version handed out so far. */
  get version(): number {
    return this.versionCounter;
  }

  /** The devices the configuration targets, as the cache sees them. */
  targetedDevices(configurationId: string): string[] {
    return [...(this.configurations.get(configurationId)?.targets ?? [])];
  }

  /** Targeted devices on which this module of the configuration runs, sorted (for logs: the first one). */
  devicesRunningModule(configurationId: string, module: string): string[] {
    const tracked = this.configurations.get(configurationId);
    if (!tracked) return [];
    return [...tracked.targets]
      .filter((deviceId) => {
        const device = this.cache.get(deviceId);
        return (
          device !== undefined &&
          device.agent.modules[module]?.runtimeStatus === "running" &&
          this.ownModules(tracked, deviceId).includes(module)
        );
      })
      .sort();
  }

  private compute(tracked: TrackedConfiguration): FleetStatus {
    const { id } = tracked.spec;
    const moduleNames = Object.keys(tracked.spec.modules).sort();
    const counts = { targeted: 0, applied: 0, running: 0, failed: 0, offline: 0 };
    const reported = { successful: 0, failed: 0 };
    const modules: FleetStatus["modules"] = {};
    for (const name of moduleNames) modules[name] = { running: 0, restartCount: 0 };
    const failures: FleetStatus["failures"] = [];
    for (const deviceId of [...tracked.targets].sort()) {
      const device = this.cache.get(deviceId);
      if (!device) continue;
      counts.targeted += 1;
      if (device.connected === false) counts.offline += 1;
      if (device.agent.configurations[id] !== "Applied") continue;
      counts.applied += 1;
      const synced = inSync(device);
      const rejected = desiredFailure(device);
      // As the hub's metrics: edgeAgent processed the current desired properties and said how it went.
      const code = device.agent.lastDesiredStatus?.code;
      if (synced && code !== undefined) reported[code === 200 ? "successful" : "failed"] += 1;
      const deviceFailures: FleetStatus["failures"] = rejected ? [{ deviceId, reason: rejected }] : [];
      let runsAll = synced && !rejected;
      const own = new Set(this.ownModules(tracked, deviceId));
      for (const name of moduleNames) {
        const aggregate = modules[name] as FleetStatus["modules"][string];
        if (!own.has(name)) {
          aggregate.overridden = (aggregate.overridden ?? 0) + 1;
          continue;
        }
        const state = device.agent.modules[name];
        if (!state || !synced) {
          runsAll = false;
          continue;
        }
        aggregate.restartCount += state.restartCount ?? 0;
        if (state.runtimeStatus === "running") {
          aggregate.running += 1;
          if (aggregate.running <= MAX_LISTED_RUNNING) (aggregate.runningOn ??= []).push(deviceId);
        } else runsAll = false;
        if (!aggregate.worst || SEVERITY[state.runtimeStatus] > SEVERITY[aggregate.worst.state.runtimeStatus])
          aggregate.worst = { deviceId, state };
        if (FAILING.has(state.runtimeStatus))
          deviceFailures.push({ deviceId, module: name, reason: state.runtimeStatus });
        if (
          state.exitCode !== undefined &&
          isRealTime(state.lastExitTimeUtc) &&
          (!aggregate.lastTermination?.finishedAt ||
            state.lastExitTimeUtc > aggregate.lastTermination.finishedAt)
        ) {
          aggregate.lastTermination = {
            deviceId,
            exitCode: state.exitCode,
            finishedAt: state.lastExitTimeUtc,
            reason: state.exitCode === 0 ? "Completed" : "Error",
          };
        }
      }
      if (deviceFailures.length > 0) {
        counts.failed += 1;
        for (const failure of deviceFailures)
          if (failures.length < MAX_LISTED_FAILURES) failures.push(failure);
      } else if (runsAll) counts.running += 1;
    }
    return {
      configurationId: id,
      targetCondition: tracked.spec.targetCondition,
      counts,
      modules,
      reported,
      failures,
      computedAt: this.now().toISOString(),
      source: "events",
      version: 0,
    };
  }
}
