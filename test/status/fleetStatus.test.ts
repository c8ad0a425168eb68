// Fleet status per configuration from cached device states: targeting (base vs layered,
// priorities), applied, running, failed, offline, and incremental recomputation.
import { describe, expect, it } from "vitest";
import type { ManagedConfiguration } from "../../lib/scheduler/schedulerContract.js";
import { DeviceCache } from "../../lib/status/deviceCache.js";
import { emptyDeviceState, type DeviceState } from "../../lib/status/deviceState.js";
import { FleetTracker } from "../../lib/status/fleetStatus.js";
import type { DeviceModuleState } from "../../lib/status/statusContract.js";

function configuration(id: string, overrides: Partial<ManagedConfiguration> = {}): ManagedConfiguration {
  return {
    id,
    kind: "layered",
    targetCondition: "tags.site = 'north'",
    priority: 10,
    modules: { tempSensor: "temp-sensor" },
    images: { tempSensor: "mcr.microsoft.com/azureiotedge-simulated-temperature-sensor:1.5" },
    pods: ["default/sensor/uid-1"],
    state: { phase: "OnHub" },
    ...overrides,
  };
}

const running: DeviceModuleState = {
  runtimeStatus: "running",
  restartCount: 0,
  exitCode: 0,
  lastStartTimeUtc: "2026-11-25T10:00:00Z",
  lastExitTimeUtc: "0001-01-01T00:00:00Z",
};

interface DeviceSpec {
  tags?: Record<string, string | number>;
  connected?: boolean;
  applied?: string[];
  targeted?: string[];
  modules?: Record<string, DeviceModuleState>;
  desiredVersion?: number;
  lastDesiredVersion?: number;
  lastDesiredStatus?: { code: number; description?: string };
}

function device(deviceId: string, spec: DeviceSpec = {}): DeviceState {
  const state = emptyDeviceState(deviceId);
  state.twinVersion = 1;
  state.tags = spec.tags ?? { site: "north" };
  state.connected = spec.connected ?? true;
  state.agent = {
    twinVersion: 1,
    desiredVersion: spec.desiredVersion ?? 2,
    lastDesiredVersion: spec.lastDesiredVersion ?? 2,
    lastDesiredStatus: spec.lastDesiredStatus ?? { code: 200 },
    configurations: Object.fromEntries([
      ...(spec.targeted ?? []).map((id) => [id, "Targeted"]),
      ...(spec.applied ?? []).map((id) => [id, "Applied"]),
    ]),
    modules: spec.modules ?? { tempSensor: running },
  };
  return state;
}

function tracker(devices: DeviceState[], configurations: ManagedConfiguration[]) {
  const cache = new DeviceCache(devices);
  const fleet = new FleetTracker("contoso-hub", cache, () => new Date("2026-11-25T10:05:00Z"));
  fleet.setConfigurations(configurations);
  fleet.update();
  return { cache, fleet };
}

describe("fleet counts", () => {
  it("counts targeted, applied, running devices of a layered deployment", () => {
    const { fleet } = tracker(
      [
        device("dev-1", { applied: ["c1"] }),
        device("dev-2", { applied: ["c1"] }),
        device("dev-3"), // targeted, the hub has not applied it yet
        device("dev-4", { tags: { site: "south" } }), // not targeted
      ],
      [configuration("c1")],
    );
    expect(fleet.status("c1")!.counts).toEqual({
      targeted: 3,
      applied: 2,
      running: 2,
      failed: 0,
      offline: 0,
    });
    expect(fleet.status("c1")!.source).toBe("events");
  });

  it("every matching layered deployment targets a device", () => {
    const { fleet } = tracker(
      [device("dev-1", { applied: ["c1", "c2"], modules: { tempSensor: running, filter: running } })],
      [
        configuration("c1", { priority: 1 }),
        configuration("c2", { priority: 50, modules: { filter: "filter" } }),
      ],
    );
    expect(fleet.status("c1")!.counts.targeted).toBe(1);
    expect(fleet.status("c2")!.counts.targeted).toBe(1);
  });

  it("only the highest priority matching base deployment targets a device", () => {
    const { fleet } = tracker(
      [device("dev-1", { applied: ["high"], targeted: ["low"] })],
      [
        configuration("low", { kind: "base", priority: 1 }),
        configuration("high", { kind: "base", priority: 5 }),
      ],
    );
    expect(fleet.status("high")!.counts).toMatchObject({ targeted: 1, applied: 1, running: 1 });
    expect(fleet.status("low")!.counts).toMatchObject({ targeted: 0, applied: 0 });
  });

  it("between base deployments of equal priority, the one the device reports applied wins", () => {
    const { fleet } = tracker(
      [device("dev-1", { applied: ["zz-newer"], targeted: ["aa-older"] })],
      [configuration("aa-older", { kind: "base" }), configuration("zz-newer", { kind: "base" })],
    );
    expect(fleet.status("zz-newer")!.counts.targeted).toBe(1);
    expect(fleet.status("aa-older")!.counts.targeted).toBe(0);
  });

  it("counts disconnected targeted devices as offline", () => {
    const { fleet } = tracker(
      [device("dev-1", { applied: ["c1"] }), device("dev-2", { applied: ["c1"], connected: false })],
      [configuration("c1")],
    );
    expect(fleet.status("c1")!.counts).toMatchObject({ targeted: 2, offline: 1 });
  });

  it("a module in backoff makes the device failed and is named with its reason", () => {
    const { fleet } = tracker(
      [
        device("dev-1", { applied: ["c1"] }),
        device("dev-3", {
          applied: ["c1"],
          modules: {
            tempSensor: {
              runtimeStatus: "backoff",
              exitCode: 139,
              restartCount: 3,
              statusDescription: "module exited with code 139",
              lastExitTimeUtc: "2026-11-25T10:04:00Z",
            },
          },
        }),
      ],
      [configuration("c1")],
    );
    const status = fleet.status("c1")!;
    expect(status.counts).toMatchObject({ applied: 2, running: 1, failed: 1 });
    expect(status.failures).toEqual([{ deviceId: "dev-3", module: "tempSensor", reason: "backoff" }]);
    expect(status.modules["tempSensor"]).toMatchObject({
      running: 1,
      restartCount: 3,
      worst: { deviceId: "dev-3", state: { runtimeStatus: "backoff" } },
      lastTermination: {
        deviceId: "dev-3",
        exitCode: 139,
        finishedAt: "2026-11-25T10:04:00Z",
        reason: "Error",
      },
    });
  });

  it("lastDesiredStatus 400 for the current desired version makes the device failed", () => {
    const { fleet } = tracker(
      [
        device("dev-1", {
          applied: ["c1"],
          lastDesiredStatus: { code: 400, description: "schemaVersion is missing" },
          modules: {},
        }),
      ],
      [configuration("c1")],
    );
    const status = fleet.status("c1")!;
    expect(status.counts).toMatchObject({ applied: 1, running: 0, failed: 1 });
    expect(status.failures).toEqual([
      { deviceId: "dev-1", reason: "edgeAgent rejected the deployment (400: schemaVersion is missing)" },
    ]);
  });

  it("a device whose edgeAgent has not processed the latest desired properties is not running yet", () => {
    const { fleet } = tracker(
      [device("dev-1", { applied: ["c1"], desiredVersion: 3, lastDesiredVersion: 2 })],
      [configuration("c1")],
    );
    expect(fleet.status("c1")!.counts).toMatchObject({ applied: 1, running: 0, failed: 0 });
  });

  it("a device runs the pod only when every module of the deployment runs there", () => {
    const { fleet } = tracker(
      [
        device("dev-1", {
          applied: ["c1"],
          modules: { tempSensor: running, filter: { runtimeStatus: "unknown" } },
        }),
      ],
      [configuration("c1", { modules: { tempSensor: "temp-sensor", filter: "filter" } })],
    );
    expect(fleet.status("c1")!.counts).toMatchObject({ applied: 1, running: 0, failed: 0 });
    expect(fleet.status("c1")!.modules["tempSensor"]!.running).toBe(1);
  });

  it("a target condition of * targets every device", () => {
    const { fleet } = tracker(
      [device("dev-1"), device("dev-2", { tags: { site: "south" } })],
      [configuration("c1", { targetCondition: "*" })],
    );
    expect(fleet.status("c1")!.counts.targeted).toBe(2);
  });

  it("a target condition the evaluator cannot parse targets no device", () => {
    const { fleet } = tracker([device("dev-1")], [configuration("c1", { targetCondition: "tags.site = " })]);
    expect(fleet.status("c1")!.counts.targeted).toBe(0);
  });
});

describe("layered deployments defining the same module", () => {
  const STABLE = "tags.site = 'north'";
  const STAGED = "tags.site = 'north' AND tags.bucket < 10";
  const crashing: DeviceModuleState = { runtimeStatus: "backoff", restartCount: 4, exitCode: 1 };
  /** 10 devices of the scope, the first 2 in the stage, where the higher-priority one crash-loops */
  function stagedFleet() {
    return Array.from({ length: 10 }, (_, n) =>
      device(`dev-${n}`, {
        tags: { site: "north", bucket: n * 5 },
        applied: n < 2 ? ["stable", "staged"] : ["stable"],
        modules: { tempSensor: n < 2 ? crashing : running },
      }),
    );
  }

  it("the old configuration counts only the devices outside the higher-priority stage", () => {
    const { fleet } = tracker(stagedFleet(), [
      configuration("stable", { targetCondition: STABLE, priority: 10 }),
      configuration("staged", { targetCondition: STAGED, priority: 11 }),
    ]);
    expect(fleet.status("stable")!.counts).toEqual({
      targeted: 8,
      applied: 8,
      running: 8,
      failed: 0,
      offline: 0,
    });
    expect(fleet.status("stable")!.failures).toEqual([]);
    expect(fleet.targetedDevices("stable")).not.toContain("dev-0");
    expect(fleet.status("staged")!.counts).toMatchObject({ targeted: 2, applied: 2, running: 0, failed: 2 });
  });

  it("the old configuration takes the stage's devices back when the staged one goes", () => {
    const { fleet } = tracker(stagedFleet(), [
      configuration("stable", { targetCondition: STABLE, priority: 10 }),
      configuration("staged", { targetCondition: STAGED, priority: 11 }),
    ]);
    fleet.setConfigurations([configuration("stable", { targetCondition: STABLE, priority: 10 })]);
    fleet.update();
    expect(fleet.status("stable")!.counts).toMatchObject({ targeted: 10, failed: 2 });
  });

  it("a lower priority layer does not override a higher one", () => {
    const { fleet } = tracker(stagedFleet(), [
      configuration("stable", { targetCondition: STABLE, priority: 12 }),
      configuration("staged", { targetCondition: STAGED, priority: 11 }),
    ]);
    expect(fleet.status("stable")!.counts.targeted).toBe(10);
    expect(fleet.status("staged")!.counts.targeted).toBe(0);
  });

  it("equal priorities override neither way: the hub's tie-break (creation order) is not seen here", () => {
    const { fleet } = tracker(stagedFleet(), [
      configuration("stable", { targetCondition: STABLE, priority: 10 }),
      configuration("staged", { targetCondition: STAGED, priority: 10 }),
    ]);
    expect(fleet.status("stable")!.counts.targeted).toBe(10);
    expect(fleet.status("staged")!.counts.targeted).toBe(2);
  });

  it("a layer overrides a base deployment's module of the same name whatever the priorities", () => {
    const { fleet } = tracker(stagedFleet(), [
      configuration("stable", { kind: "base", targetCondition: STABLE, priority: 50 }),
      configuration("staged", { targetCondition: STAGED, priority: 1 }),
    ]);
    expect(fleet.status("stable")!.counts).toMatchObject({ targeted: 8, failed: 0 });
  });

  it("a partly overridden device counts, judged by the modules that stay the configuration's own", () => {
    const { fleet } = tracker(
      [
        device("dev-0", {
          tags: { site: "north", bucket: 0 },
          applied: ["stable", "staged"],
          modules: { tempSensor: crashing, filter: running },
        }),
        device("dev-1", {
          tags: { site: "north", bucket: 50 },
          applied: ["stable"],
          modules: { tempSensor: running, filter: running },
        }),
      ],
      [
        configuration("stable", {
          targetCondition: STABLE,
          priority: 10,
          modules: { tempSensor: "temp-sensor", filter: "filter" },
        }),
        configuration("staged", { targetCondition: STAGED, priority: 11 }),
      ],
    );
    const status = fleet.status("stable")!;
    expect(status.counts).toEqual({ targeted: 2, applied: 2, running: 2, failed: 0, offline: 0 });
    expect(status.modules["tempSensor"]).toMatchObject({ running: 1, overridden: 1 });
    expect(status.modules["tempSensor"]!.worst?.deviceId).toBe("dev-1");
    expect(status.modules["filter"]).toMatchObject({ running: 2 });
    expect(status.modules["filter"]!.overridden).toBeUndefined();
    expect(fleet.devicesRunningModule("stable", "tempSensor")).toEqual(["dev-1"]);
  });

  it("a device entering the stage leaves the old configuration's count", () => {
    const { cache, fleet } = tracker(stagedFleet(), [
      configuration("stable", { targetCondition: STABLE, priority: 10 }),
      configuration("staged", { targetCondition: STAGED, priority: 11 }),
    ]);
    cache.get("dev-2")!.tags = { site: "north", bucket: 5 };
    fleet.devicesChanged(["dev-2"]);
    fleet.update();
    expect(fleet.status("stable")!.counts.targeted).toBe(7);
    expect(fleet.status("staged")!.counts.targeted).toBe(3);
  });
});

describe("incremental updates", () => {
  it("retargeting a device by its tags moves it between configurations and bumps only their versions", () => {
    const { cache, fleet } = tracker(
      [device("dev-1", { applied: ["north"] }), device("dev-2", { tags: { site: "south" } })],
      [
        configuration("north"),
        configuration("south", { targetCondition: "tags.site = 'south'" }),
        configuration("east", { targetCondition: "tags.site = 'east'" }),
      ],
    );
    const eastVersion = fleet.status("east")!.version;
    cache.get("dev-1")!.tags = { site: "south" };
    fleet.devicesChanged(["dev-1"]);
    const changed = fleet.update();
    expect(changed.map((s) => s.configurationId).sort()).toEqual(["north", "south"]);
    expect(fleet.status("north")!.counts.targeted).toBe(0);
    expect(fleet.status("south")!.counts.targeted).toBe(2);
    expect(fleet.status("east")!.version).toBe(eastVersion);
    expect(Math.min(...changed.map((s) => s.version))).toBeGreaterThan(eastVersion);
  });

  it("a recomputation that changes nothing keeps the status and its version", () => {
    const { fleet } = tracker([device("dev-1", { applied: ["c1"] })], [configuration("c1")]);
    const before = fleet.status("c1");
    fleet.devicesChanged(["dev-1"]);
    expect(fleet.update()).toEqual([]);
    expect(fleet.status("c1")).toBe(before);
  });

  it("a removed configuration is forgotten and a new one is evaluated over every device", () => {
    const { fleet } = tracker([device("dev-1"), device("dev-2")], [configuration("c1")]);
    fleet.setConfigurations([configuration("c2")]);
    fleet.update();
    expect(fleet.status("c1")).toBeUndefined();
    expect(fleet.status("c2")!.counts.targeted).toBe(2);
  });

  it("says which target condition it counted, and counts again when the condition moves in place", () => {
    const { fleet } = tracker(
      [device("dev-1", { tags: { site: "north", bucket: 46 } })],
      [configuration("c1", { targetCondition: "tags.bucket < 34" })],
    );
    expect(fleet.status("c1")).toMatchObject({
      targetCondition: "tags.bucket < 34",
      counts: { targeted: 0 },
    });
    fleet.setConfigurations([configuration("c1", { targetCondition: "tags.bucket < 67" })]);
    const changed = fleet.update();
    expect(changed.map((s) => s.configurationId)).toEqual(["c1"]);
    expect(fleet.status("c1")).toMatchObject({
      targetCondition: "tags.bucket < 67",
      counts: { targeted: 1 },
    });
  });

  it("gives a status a new version when only its target condition moved, though no device entered it", () => {
    const { fleet } = tracker(
      [device("dev-1")],
      [configuration("c1", { targetCondition: "tags.bucket < 10" })],
    );
    const before = fleet.status("c1")!;
    fleet.setConfigurations([configuration("c1", { targetCondition: "tags.bucket < 34" })]);
    fleet.update();
    expect(fleet.status("c1")!.counts.targeted).toBe(0);
    expect(fleet.status("c1")!.targetCondition).toBe("tags.bucket < 34");
    expect(fleet.status("c1")!.version).toBeGreaterThan(before.version);
  });

  it("lists the devices running a module, sorted, for container logs", () => {
    const { fleet } = tracker(
      [
        device("dev-2", { applied: ["c1"] }),
        device("dev-1", { applied: ["c1"] }),
        device("dev-3", { applied: ["c1"], modules: { tempSensor: { runtimeStatus: "backoff" } } }),
      ],
      [configuration("c1")],
    );
    expect(fleet.devicesRunningModule("c1", "tempSensor")).toEqual(["dev-1", "dev-2"]);
    expect(fleet.devicesRunningModule("c1", "nope")).toEqual([]);
    expect(fleet.devicesRunningModule("unknown", "tempSensor")).toEqual([]);
  });
});
