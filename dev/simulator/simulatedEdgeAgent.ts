// One simulated IoT Edge device's edgeAgent: it reads the $edgeAgent module twin's desired properties,
// validates them as edgeAgent does (a layered deployment alone lacks schemaVersion, runtime and
// systemModules: code 400), runs each module through realistic states (image pull -> running; pull
// failure -> backoff; crash -> backoff -> restart with a growing restart count, or failed under
// restartPolicy "never") and reports it all in $edgeAgent's reported properties. Offline, it does
// nothing; back online, it catches up with the desired properties it missed.
import { createHash } from "node:crypto";
import type { TwinObject } from "../../lib/hub/twinQuery.js";
import type { DeviceRegistry } from "./deviceRegistry.js";
import { diffAsMergePatch, isJsonObject } from "./jsonMergePatch.js";
import { moduleLogLines, type LogFilter, type LogLine } from "./moduleLogs.js";

export type ModuleFault = "imagePullFailure" | "crash";

export interface RuntimeTimings {
  /** How long an image pull takes before the module starts. */
  imagePullMs: number;
  /**
   * How long a module with the "crash" fault runs before it exits, on average: each run lasts
   * 0.5-1.5 times this, different on each device and restart, as real crashes do, so devices that
   * got a bad release at the same moment do not crash and run in lockstep.
   */
  crashAfterMs: number;
  /** First backoff delay; doubles with each failure up to backoffMaxMs (edgeAgent's exponential backoff). */
  backoffBaseMs: number;
  backoffMaxMs: number;
}

export const DEFAULT_RUNTIME_TIMINGS: RuntimeTimings = {
  imagePullMs: 300,
  crashAfterMs: 1_000,
  backoffBaseMs: 500,
  backoffMaxMs: 20_000,
};

const RESTART_POLICIES = new Set(["always", "on-failure", "on-unhealthy", "never"]);
const NEVER = "0001-01-01T00:00:00Z";
const EDGE_VERSION = {
  version: "1.5.21",
  build: "111360553",
  commit: "dd2c4afb3b5a3d4e5f6a7b8c9d0e1f2a3b4c5d6e",
};
const CRASH_EXIT_CODE = 139;
const JOURNAL_LIMIT = 200;

type Phase = "pulling" | "pullBackoff" | "running" | "backoff" | "stopped" | "failed";

interface ModuleRuntime {
  name: string;
  /** The module's desired entry (type, settings, status, restartPolicy, version, env ...). */
  spec: TwinObject;
  image: string;
  phase: Phase;
  runtimeStatus: "unknown" | "backoff" | "running" | "stopped" | "failed";
  statusDescription: string;
  exitCode: number;
  restartCount: number;
  failedPulls: number;
  lastStartTimeUtc: string;
  lastExitTimeUtc: string;
  lastRestartTimeUtc: string;
  nextTransitionAt: number | undefined;
  journal: LogLine[];
}

function text(value: unknown): string | undefined {
  return typeof value === "string" && value.length > 0 ? value : undefined;
}

function imageOf(spec: unknown): string | undefined {
  return isJsonObject(spec) && isJsonObject(spec["settings"]) ? text(spec["settings"]["image"]) : undefined;
}

/** What edgeAgent would refuse in merged desired properties; empty when they are valid. */
export function desiredPropertiesProblems(desired: TwinObject): string[] {
  const problems: string[] = [];
  if (!text(desired["schemaVersion"])) problems.push("schemaVersion is missing");
  const runtime = desired["runtime"];
  if (!isJsonObject(runtime) || runtime["type"] !== "docker")
    problems.push("runtime is missing or not of type docker");
  const system = isJsonObject(desired["systemModules"]) ? desired["systemModules"] : {};
  for (const name of ["edgeAgent", "edgeHub"]) {
    if (!imageOf(system[name])) problems.push(`systemModules.${name} is missing or has no settings.image`);
  }
  const modules = desired["modules"];
  if (modules !== undefined && !isJsonObject(modules)) problems.push("modules must be an object");
  for (const [name, spec] of Object.entries(isJsonObject(modules) ? modules : {})) {
    if (!imageOf(spec)) problems.push(`modules.${name}.settings.image is missing`);
    if (!isJsonObject(spec)) continue;
    const status = spec["status"];
    if (status !== undefined && status !== "running" && status !== "stopped") {
      problems.push(`modules.${name}.status must be running or stopped`);
    }
    const policy = spec["restartPolicy"];
    if (policy !== undefined && (typeof policy !== "string" || !RESTART_POLICIES.has(policy))) {
      problems.push(`modules.${name}.restartPolicy must be one of always, on-failure, on-unhealthy, never`);
    }
  }
  return problems;
}

export class SimulatedEdgeAgent {
  private readonly modules = new Map<string, ModuleRuntime>();
  private readonly faults = new Map<string, ModuleFault>();
  private readonly agentJournal: LogLine[] = [];
  private readonly bootTime: string;
  private appliedDesiredVersion = 0;
  private lastDesiredStatus: { code: number; description: string } | undefined;
  private reported: TwinObject = {};
  online: boolean;

  constructor(
    readonly deviceId: string,
    private readonly registry: DeviceRegistry,
    private readonly now: () => Date,
    private readonly timings: RuntimeTimings,
    online: boolean,
    /** faults of every module running an image (a bad release), shared by the fleet */
    private readonly imageFaults: ReadonlyMap<string, ModuleFault> = new Map(),
  ) {
    this.online = online;
    this.bootTime = now().toISOString();
    this.note(this.agentJournal, 6, "Starting module management agent.");
  }

  private note(journal: LogLine[], level: LogLine["level"], line: string): void {
    journal.push({ time: this.now().getTime(), level, text: line });
    if (journal.length > JOURNAL_LIMIT) journal.splice(0, journal.length - JOURNAL_LIMIT);
  }

  setOnline(online: boolean): void {
    this.online = online;
    if (online) this.desiredChanged();
  }

  injectFault(moduleName: string, fault: ModuleFault): void {
    this.faults.set(moduleName, fault);
    const module = this.modules.get(moduleName);
    if (module?.phase === "running" && fault === "crash") {
      module.nextTransitionAt = this.now().getTime() + this.runBeforeCrashMs(module);
    }
  }

  clearFault(moduleName: string): void {
    this.faults.delete(moduleName);
    const module = this.modules.get(moduleName);
    if (module?.phase === "running") module.nextTransitionAt = undefined;
  }

  /** The $edgeAgent twin's desired properties changed (or the device came back): reconcile and report. */
  desiredChanged(): void {
    if (!this.online) return;
    const twin = this.registry.module(this.deviceId, "$edgeAgent").twin;
    if (twin.desiredVersion === this.appliedDesiredVersion || Object.keys(twin.desired).length === 0) return;
    this.appliedDesiredVersion = twin.desiredVersion;
    const desired = twin.desired;
    const problems = desiredPropertiesProblems(desired);
    if (problems.length > 0) {
      this.lastDesiredStatus = {
        code: 400,
        description: `Desired properties are invalid: ${problems.join("; ")}`,
      };
      this.note(this.agentJournal, 3, `Error processing desired properties: ${problems.join("; ")}`);
    } else {
      this.lastDesiredStatus = { code: 200, description: "" };
      this.reconcile(desired);
    }
    this.report();
  }

  private reconcile(desired: TwinObject): void {
    const system = desired["systemModules"] as TwinObject;
    const wanted: Record<string, TwinObject> = { edgeHub: system["edgeHub"] as TwinObject };
    const modules = isJsonObject(desired["modules"]) ? desired["modules"] : {};
    for (const [name, spec] of Object.entries(modules)) wanted[name] = spec as TwinObject;
    for (const name of [...this.modules.keys()]) {
      if (!(name in wanted)) {
        this.modules.delete(name);
        this.note(this.agentJournal, 6, `Removed module ${name}`);
      }
    }
    const now = this.now().getTime();
    for (const [name, spec] of Object.entries(wanted)) {
      const image = imageOf(spec) as string;
      const existing = this.modules.get(name);
      if (existing && existing.image === image) {
        existing.spec = spec;
        this.applyDesiredStatus(existing, now);
        continue;
      }
      const module: ModuleRuntime = {
        name,
        spec,
        image,
        phase: "pulling",
        runtimeStatus: "unknown",
        statusDescription: `Pulling image ${image}`,
        exitCode: 0,
        restartCount: 0,
        failedPulls: 0,
        lastStartTimeUtc: NEVER,
        lastExitTimeUtc: NEVER,
        lastRestartTimeUtc: NEVER,
        nextTransitionAt: now + this.timings.imagePullMs,
        journal: existing?.journal ?? [],
      };
      this.modules.set(name, module);
      this.note(this.agentJournal, 6, `Plan: pull image ${image} and create module ${name}`);
    }
  }

  private applyDesiredStatus(module: ModuleRuntime, now: number): void {
    const wantsStopped = module.spec["status"] === "stopped";
    if (wantsStopped && module.phase !== "stopped") {
      this.exit(module, now, 0, "stopped", "stopped");
    } else if (!wantsStopped && module.phase === "stopped") {
      this.start(module, now);
    }
  }

  private start(module: ModuleRuntime, now: number): void {
    module.phase = "running";
    module.runtimeStatus = "running";
    module.statusDescription = "running";
    // exitCode keeps the last exit's code across a restart, as edgeAgent reports it.
    module.lastStartTimeUtc = new Date(now).toISOString();
    module.nextTransitionAt =
      this.faultOf(module) === "crash" ? now + this.runBeforeCrashMs(module) : undefined;
    this.note(module.journal, 6, `${module.name} starting (image ${module.image})`);
  }

  private exit(
    module: ModuleRuntime,
    now: number,
    exitCode: number,
    phase: Phase,
    description: string,
  ): void {
    module.phase = phase;
    module.runtimeStatus = phase === "backoff" ? "backoff" : phase === "failed" ? "failed" : "stopped";
    module.statusDescription = description;
    module.exitCode = exitCode;
    module.lastExitTimeUtc = new Date(now).toISOString();
    module.nextTransitionAt = undefined;
  }

  /** 0.5-1.5 x crashAfterMs, fixed by device, module and restart so that a run is reproducible. */
  private runBeforeCrashMs(module: ModuleRuntime): number {
    const share = unitHash(`${this.deviceId}/${module.name}/${module.restartCount}`);
    return Math.round(this.timings.crashAfterMs * (0.5 + share));
  }

  private backoffDelay(failures: number): number {
    return Math.min(this.timings.backoffMaxMs, this.timings.backoffBaseMs * 2 ** Math.min(failures, 16));
  }

  /** Earliest time a module changes state by itself; undefined when all are steady. */
  nextDueAt(): number | undefined {
    let earliest: number | undefined;
    for (const module of this.modules.values()) {
      if (
        module.nextTransitionAt !== undefined &&
        (earliest === undefined || module.nextTransitionAt < earliest)
      ) {
        earliest = module.nextTransitionAt;
      }
    }
    return earliest;
  }

  /** Advances every module whose transition is due, then reports what changed. */
  step(): void {
    if (!this.online) return;
    const now = this.now().getTime();
    let changed = false;
    for (const module of this.modules.values()) {
      // A bounded number of transitions per step keeps a long pause from spinning through many cycles.
      for (
        let i = 0;
        i < 4 && module.nextTransitionAt !== undefined && module.nextTransitionAt <= now;
        i += 1
      ) {
        this.transition(module, module.nextTransitionAt);
        changed = true;
      }
    }
    if (changed) this.report();
  }

  private faultOf(module: ModuleRuntime): ModuleFault | undefined {
    return this.faults.get(module.name) ?? this.imageFaults.get(module.image);
  }

  private transition(module: ModuleRuntime, at: number): void {
    const fault = this.faultOf(module);
    switch (module.phase) {
      case "pulling":
      case "pullBackoff":
        if (fault === "imagePullFailure") {
          module.failedPulls += 1;
          module.phase = "pullBackoff";
          module.runtimeStatus = "backoff";
          module.statusDescription = `Failed to pull image ${module.image}: manifest unknown (attempt ${module.failedPulls})`;
          module.nextTransitionAt = at + this.backoffDelay(module.failedPulls - 1);
          this.note(
            this.agentJournal,
            3,
            `Error pulling image ${module.image} for module ${module.name}: manifest unknown`,
          );
        } else if (module.spec["status"] === "stopped") {
          this.exit(module, at, 0, "stopped", "stopped");
        } else {
          this.start(module, at);
        }
        return;
      case "running": {
        this.note(module.journal, 3, `${module.name} terminated unexpectedly (exit code ${CRASH_EXIT_CODE})`);
        const policy = module.spec["restartPolicy"] ?? "always";
        if (policy === "never") {
          this.exit(module, at, CRASH_EXIT_CODE, "failed", `module exited with code ${CRASH_EXIT_CODE}`);
        } else {
          const delay = this.backoffDelay(module.restartCount);
          this.exit(
            module,
            at,
            CRASH_EXIT_CODE,
            "backoff",
            `module exited with code ${CRASH_EXIT_CODE}, restarting in ${Math.round(delay / 1000)}s`,
          );
          module.nextTransitionAt = at + delay;
        }
        return;
      }
      case "backoff":
        module.restartCount += 1;
        module.lastRestartTimeUtc = new Date(at).toISOString();
        this.start(module, at);
        return;
      default:
        module.nextTransitionAt = undefined;
    }
  }

  /** RestartModule direct method: false when no such module runs here. */
  restartModule(name: string): boolean {
    const module = this.modules.get(name);
    if (!module || module.phase === "pulling" || module.phase === "pullBackoff") return false;
    const now = this.now().getTime();
    this.note(module.journal, 6, `${module.name} restarting on request`);
    module.lastExitTimeUtc = new Date(now).toISOString();
    this.start(module, now);
    this.report();
    return true;
  }

  /** Module names with logs, for GetModuleLogs' id regex. */
  logSources(): string[] {
    return ["edgeAgent", ...this.modules.keys()];
  }

  logs(name: string, filter: LogFilter): string[] {
    if (name === "edgeAgent") return moduleLogLines(name, this.agentJournal, undefined, filter);
    const module = this.modules.get(name);
    if (!module) return [];
    const running =
      module.phase === "running"
        ? { since: Date.parse(module.lastStartTimeUtc), until: this.now().getTime() }
        : undefined;
    return moduleLogLines(name, module.journal, running, filter);
  }

  private moduleReport(module: ModuleRuntime): TwinObject {
    return {
      ...(module.spec["version"] !== undefined && { version: module.spec["version"] }),
      type: module.spec["type"] ?? "docker",
      settings: module.spec["settings"] ?? {},
      status: module.spec["status"] ?? "running",
      restartPolicy: module.spec["restartPolicy"] ?? "always",
      runtimeStatus: module.runtimeStatus,
      statusDescription: module.statusDescription,
      exitCode: module.exitCode,
      restartCount: module.restartCount,
      lastStartTimeUtc: module.lastStartTimeUtc,
      lastExitTimeUtc: module.lastExitTimeUtc,
      lastRestartTimeUtc: module.lastRestartTimeUtc,
    };
  }

  private buildReported(): TwinObject {
    const reported: TwinObject = {
      schemaVersion: "1.1",
      version: EDGE_VERSION,
      lastDesiredStatus: this.lastDesiredStatus ?? null,
      lastDesiredVersion: this.appliedDesiredVersion,
      runtime: {
        type: "docker",
        platform: { os: "linux", architecture: "x86_64", version: EDGE_VERSION.version },
      },
    };
    const edgeHub = this.modules.get("edgeHub");
    if (edgeHub) {
      const twin = this.registry.module(this.deviceId, "$edgeAgent").twin;
      const system = isJsonObject(twin.desired["systemModules"]) ? twin.desired["systemModules"] : {};
      reported["systemModules"] = {
        edgeAgent: {
          type: "docker",
          settings: isJsonObject(system["edgeAgent"]) ? (system["edgeAgent"]["settings"] ?? {}) : {},
          runtimeStatus: "running",
          exitCode: 0,
          lastStartTimeUtc: this.bootTime,
        },
        edgeHub: this.moduleReport(edgeHub),
      };
      const modules: TwinObject = {};
      for (const module of this.modules.values())
        if (module.name !== "edgeHub") modules[module.name] = this.moduleReport(module);
      reported["modules"] = modules;
    }
    return reported;
  }

  private report(): void {
    const next = this.buildReported();
    const patch = diffAsMergePatch(this.reported, next);
    this.reported = next;
    if (Object.keys(patch).length > 0) this.registry.patchReported(this.deviceId, "$edgeAgent", patch);
  }
}

/** A number in [0, 1) from a string: the same text always gives the same share. */
function unitHash(text: string): number {
  return createHash("sha256").update(text, "utf8").digest().readUInt32BE(0) / 2 ** 32;
}
