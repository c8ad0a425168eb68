// How simulated IoT Edge devices receive and run deployments, driven through the real azure-iothub
// Registry (deployments are created over REST) and observed in the hub's twins.
import iothub from "azure-iothub";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { RunningSimulator } from "../../../dev/simulator/simulator.js";
import { baseDeployment, layeredDeployment } from "../../support/deployments.js";
import type {
  ConfigurationBody,
  ConfigurationInput,
  EdgeAgentTwin,
  ReportedModule,
} from "../../support/hubShapes.js";
import { eventually, startTestSimulator } from "../../support/testSimulator.js";

let simulator: RunningSimulator;
let registry: iothub.Registry;
let deviceCounter = 0;

beforeAll(async () => {
  simulator = await startTestSimulator();
  registry = iothub.Registry.fromConnectionString(simulator.iotHubConnectionString);
});

afterAll(async () => {
  await simulator?.stop();
});

/** A fresh device with a unique tag so each test's deployments target only its own devices. */
function newDevice(tags: Record<string, unknown> = {}, online = true): { deviceId: string; group: string } {
  deviceCounter += 1;
  const group = `g${deviceCounter}`;
  const deviceId = `device-${deviceCounter}`;
  simulator.fleet.addDevice({ deviceId, tags: { group, ...tags }, online });
  return { deviceId, group };
}

const agentTwin = (deviceId: string) =>
  simulator.fleet.moduleTwin(deviceId, "$edgeAgent") as unknown as EdgeAgentTwin;
const reportedModules = (deviceId: string): Record<string, ReportedModule | undefined> =>
  agentTwin(deviceId).properties.reported.modules ?? {};

async function deploy(configuration: ConfigurationInput) {
  await registry.addConfiguration(configuration);
}

describe("deployment selection", () => {
  it("applies the highest-priority base deployment and marks the outranked one Targeted", async () => {
    const { deviceId, group } = newDevice();
    await deploy(
      baseDeployment(`${group}-low`, {
        priority: 5,
        targetCondition: `tags.group='${group}'`,
        modules: { low: { image: "example/low:1" } },
      }),
    );
    await deploy(
      baseDeployment(`${group}-high`, {
        priority: 50,
        targetCondition: `tags.group='${group}'`,
        modules: { high: { image: "example/high:1" } },
      }),
    );
    await simulator.fleet.evaluateNow();

    const twin = agentTwin(deviceId);
    expect(twin.configurations).toEqual({
      [`${group}-high`]: { status: "Applied" },
      [`${group}-low`]: { status: "Targeted" },
    });
    expect(Object.keys(twin.properties.desired.modules)).toEqual(["high"]);
  });

  it("lets the most recently created base deployment win a priority tie", async () => {
    const { deviceId, group } = newDevice();
    await deploy(
      baseDeployment(`${group}-first`, {
        priority: 7,
        targetCondition: `tags.group='${group}'`,
        modules: { first: { image: "example/first:1" } },
      }),
    );
    await deploy(
      baseDeployment(`${group}-second`, {
        priority: 7,
        targetCondition: `tags.group='${group}'`,
        modules: { second: { image: "example/second:1" } },
      }),
    );
    await simulator.fleet.evaluateNow();

    expect(Object.keys(agentTwin(deviceId).properties.desired.modules)).toEqual(["second"]);
    expect(agentTwin(deviceId).configurations?.[`${group}-first`]).toEqual({ status: "Targeted" });
  });

  it("merges every matching layered deployment on top of the base, higher priority overriding lower", async () => {
    const { deviceId, group } = newDevice({ ring: 1 });
    const target = `tags.group='${group}'`;
    await deploy(
      baseDeployment(`${group}-base`, {
        priority: 1,
        targetCondition: target,
        modules: { app: { image: "example/app:1" } },
      }),
    );
    await deploy(
      layeredDeployment(`${group}-monitor`, {
        priority: 20,
        targetCondition: target,
        modules: { monitor: { image: "example/monitor:1" } },
      }),
    );
    await deploy(
      layeredDeployment(`${group}-app-v2`, {
        priority: 30,
        targetCondition: `${target} AND tags.ring = 1`,
        modules: { app: { image: "example/app:2" } },
      }),
    );
    await deploy(
      layeredDeployment(`${group}-app-v0`, {
        priority: 10,
        targetCondition: target,
        modules: { app: { image: "example/app:0" } },
      }),
    );
    await deploy(
      layeredDeployment(`${group}-elsewhere`, {
        priority: 99,
        targetCondition: "tags.group='nobody'",
        modules: { other: { image: "example/other:1" } },
      }),
    );
    await simulator.fleet.evaluateNow();

    const twin = agentTwin(deviceId);
    expect(twin.properties.desired.modules.app?.settings.image).toBe("example/app:2");
    expect(twin.properties.desired.modules.monitor?.settings.image).toBe("example/monitor:1");
    expect(twin.properties.desired.modules.other).toBeUndefined();
    expect(twin.configurations).toEqual({
      [`${group}-base`]: { status: "Applied" },
      [`${group}-monitor`]: { status: "Applied" },
      [`${group}-app-v2`]: { status: "Applied" },
      [`${group}-app-v0`]: { status: "Applied" },
    });
    const running = await eventually(
      () => reportedModules(deviceId),
      (modules) => modules.app?.runtimeStatus === "running" && modules.monitor?.runtimeStatus === "running",
    );
    expect(running.app?.settings.image).toBe("example/app:2");
  });

  it("reports a layered deployment without a base as edgeAgent does: lastDesiredStatus 400", async () => {
    const { deviceId, group } = newDevice();
    await deploy(
      layeredDeployment(`${group}-layer`, {
        targetCondition: `tags.group='${group}'`,
        modules: { lonely: { image: "example/lonely:1" } },
      }),
    );
    await simulator.fleet.evaluateNow();

    const reported = agentTwin(deviceId).properties.reported;
    expect(reported.lastDesiredStatus.code).toBe(400);
    expect(reported.lastDesiredStatus.description).toContain("schemaVersion is missing");
    expect(reported.lastDesiredStatus.description).toContain("systemModules.edgeAgent is missing");
    expect(reported.lastDesiredVersion).toBe(agentTwin(deviceId).properties.desired.$version);
    expect(reported.modules).toBeUndefined();

    const metrics = (
      (await registry.getConfiguration(`${group}-layer`)).responseBody as unknown as ConfigurationBody
    ).systemMetrics.results;
    expect(metrics).toMatchObject({
      targetedCount: 1,
      appliedCount: 1,
      reportedSuccessfulCount: 0,
      reportedFailedCount: 1,
    });
  });

  it("retargets a device when its tags change, and a device that joins later gets the deployment", async () => {
    const { deviceId, group } = newDevice({ stage: "canary" });
    await deploy(
      baseDeployment(`${group}-canary`, {
        priority: 2,
        targetCondition: `tags.group='${group}' AND tags.stage='canary'`,
        modules: { canary: { image: "example/app:canary" } },
      }),
    );
    await deploy(
      baseDeployment(`${group}-stable`, {
        priority: 1,
        targetCondition: `tags.group='${group}' AND tags.stage='stable'`,
        modules: { stable: { image: "example/app:stable" } },
      }),
    );
    await simulator.fleet.evaluateNow();
    expect(Object.keys(agentTwin(deviceId).properties.desired.modules)).toEqual(["canary"]);

    await registry.updateTwin(deviceId, { tags: { stage: "stable" } }, "*");
    await simulator.fleet.evaluateNow();
    expect(Object.keys(agentTwin(deviceId).properties.desired.modules)).toEqual(["stable"]);
    expect(agentTwin(deviceId).configurations).toEqual({ [`${group}-stable`]: { status: "Applied" } });

    const lateComer = `${deviceId}-late`;
    simulator.fleet.addDevice({ deviceId: lateComer, tags: { group, stage: "canary" } });
    await simulator.fleet.evaluateNow();
    expect(Object.keys(agentTwin(lateComer).properties.desired.modules)).toEqual(["canary"]);
  });

  it("moves a deployment to other devices when its target condition is updated", async () => {
    const first = newDevice({ color: "blue" });
    const second = newDevice({ color: "green" });
    const target = (color: string) =>
      `tags.color='${color}' AND tags.group IN ['${first.group}', '${second.group}']`;
    const created = (
      await registry.addConfiguration(
        baseDeployment(`${first.group}-moving`, {
          targetCondition: target("blue"),
          modules: { mover: { image: "example/mover:1" } },
        }),
      )
    ).responseBody as unknown as ConfigurationBody;
    await simulator.fleet.evaluateNow();
    expect(agentTwin(first.deviceId).configurations).toEqual({
      [`${first.group}-moving`]: { status: "Applied" },
    });
    expect(agentTwin(second.deviceId).configurations ?? {}).toEqual({});

    await registry.updateConfiguration({
      ...created,
      targetCondition: target("green"),
    });
    await simulator.fleet.evaluateNow();
    expect(agentTwin(second.deviceId).configurations).toEqual({
      [`${first.group}-moving`]: { status: "Applied" },
    });
    expect(agentTwin(first.deviceId).configurations).toEqual({});
  });

  it("keeps the last deployment on a device that no deployment targets any more, as IoT Hub does", async () => {
    const { deviceId, group } = newDevice();
    await deploy(
      baseDeployment(`${group}-gone`, {
        targetCondition: `tags.group='${group}'`,
        modules: { kept: { image: "example/kept:1" } },
      }),
    );
    await simulator.fleet.evaluateNow();
    await registry.removeConfiguration(`${group}-gone`);
    await simulator.fleet.evaluateNow();

    expect(agentTwin(deviceId).configurations).toEqual({});
    expect(Object.keys(agentTwin(deviceId).properties.desired.modules)).toEqual(["kept"]);
  });

  it("re-evaluates on its own cadence without evaluateNow", async () => {
    const cadenced = await startTestSimulator({
      evaluationIntervalMs: 50,
      devices: [{ deviceId: "cadenced", tags: { env: "x" } }],
    });
    try {
      const client = iothub.Registry.fromConnectionString(cadenced.iotHubConnectionString);
      await client.addConfiguration(
        baseDeployment("cadence", {
          targetCondition: "tags.env='x'",
          modules: { m: { image: "example/m:1" } },
        }),
      );
      const twin = await eventually(
        () => cadenced.fleet.moduleTwin("cadenced", "$edgeAgent") as unknown as EdgeAgentTwin,
        (t) => t.configurations?.cadence?.status === "Applied",
      );
      expect(twin.properties.desired.modules.m?.settings.image).toBe("example/m:1");
    } finally {
      await cadenced.stop();
    }
  });
});

describe("applyConfigurationContentOnDevice", () => {
  it("applies content to one device at once, outside any deployment", async () => {
    const { deviceId } = newDevice();
    const content = baseDeployment("unused", {
      targetCondition: "*",
      modules: { direct: { image: "example/direct:1" } },
    }).content;
    if (!content) throw new Error("a base deployment has content");
    await registry.applyConfigurationContentOnDevice(deviceId, content);

    expect(agentTwin(deviceId).properties.desired.modules["direct"]?.settings.image).toBe("example/direct:1");
    expect(agentTwin(deviceId).configurations ?? {}).toEqual({});
    await eventually(
      () => reportedModules(deviceId),
      (modules) => modules["direct"]?.runtimeStatus === "running",
    );
  });

  it("refuses content without modulesContent, naming the field", async () => {
    const { deviceId } = newDevice();
    await expect(
      registry.applyConfigurationContentOnDevice(deviceId, { deviceContent: {} }),
    ).rejects.toMatchObject({
      name: "ArgumentError",
      message: expect.stringContaining("content.modulesContent is required"),
    });
  });
});

describe("module runtime", () => {
  it("moves a module from image pull to running and reports it with the edgeAgent fields", async () => {
    const { deviceId, group } = newDevice();
    await deploy(
      baseDeployment(`${group}-run`, {
        targetCondition: `tags.group='${group}'`,
        modules: { sensor: { image: "example/sensor:1" } },
      }),
    );
    await simulator.fleet.evaluateNow();
    expect(reportedModules(deviceId).sensor).toMatchObject({
      runtimeStatus: "unknown",
      statusDescription: "Pulling image example/sensor:1",
    });

    const sensor = (
      await eventually(
        () => reportedModules(deviceId),
        (m) => m.sensor?.runtimeStatus === "running",
      )
    ).sensor;
    expect(sensor).toMatchObject({
      exitCode: 0,
      restartCount: 0,
      status: "running",
      restartPolicy: "always",
      type: "docker",
    });
    expect(Date.parse(sensor?.lastStartTimeUtc ?? "")).toBeGreaterThan(0);
    const reported = agentTwin(deviceId).properties.reported;
    expect(reported.lastDesiredStatus).toEqual({ code: 200, description: "" });
    expect(reported.systemModules.edgeAgent?.runtimeStatus).toBe("running");
    expect(reported.systemModules.edgeHub?.runtimeStatus).toBe("running");

    const metrics = (
      (await registry.getConfiguration(`${group}-run`)).responseBody as unknown as ConfigurationBody
    ).systemMetrics.results;
    expect(metrics).toMatchObject({
      targetedCount: 1,
      appliedCount: 1,
      reportedSuccessfulCount: 1,
      reportedFailedCount: 0,
    });
  });

  it("backs off on an image that cannot be pulled, and starts once the fault is cleared", async () => {
    const { deviceId, group } = newDevice();
    simulator.fleet.injectFault(deviceId, "broken", "imagePullFailure");
    await deploy(
      baseDeployment(`${group}-pull`, {
        targetCondition: `tags.group='${group}'`,
        modules: { broken: { image: "example/missing:1" } },
      }),
    );
    await simulator.fleet.evaluateNow();

    const failing = await eventually(
      () => reportedModules(deviceId),
      (m) => m.broken?.runtimeStatus === "backoff",
    );
    expect(failing.broken?.statusDescription).toContain("Failed to pull image example/missing:1");
    simulator.fleet.clearFault(deviceId, "broken");
    await eventually(
      () => reportedModules(deviceId),
      (m) => m.broken?.runtimeStatus === "running",
    );
  });

  it("restarts a crashing module with a growing restart count and its exit code", async () => {
    const { deviceId, group } = newDevice();
    simulator.fleet.injectFault(deviceId, "crashy", "crash");
    await deploy(
      baseDeployment(`${group}-crash`, {
        targetCondition: `tags.group='${group}'`,
        modules: { crashy: { image: "example/crashy:1" } },
      }),
    );
    await simulator.fleet.evaluateNow();

    const crashed = await eventually(
      () => reportedModules(deviceId),
      (m) => (m.crashy?.restartCount ?? 0) >= 2,
    );
    expect(crashed.crashy?.exitCode).toBe(139);
    expect(Date.parse(crashed.crashy?.lastExitTimeUtc ?? "")).toBeGreaterThan(0);
    expect(Date.parse(crashed.crashy?.lastRestartTimeUtc ?? "")).toBeGreaterThan(0);
  });

  it("crashes every module running an image with a fault, whatever its name or device, and no other image", async () => {
    const first = newDevice();
    const second = newDevice();
    simulator.fleet.injectImageFault("example/bad-release:2", "crash");
    await deploy(
      baseDeployment(`${first.group}-bad`, {
        targetCondition: `tags.group='${first.group}'`,
        modules: { app: { image: "example/bad-release:2" } },
      }),
    );
    await deploy(
      baseDeployment(`${second.group}-good`, {
        targetCondition: `tags.group='${second.group}'`,
        modules: { app: { image: "example/bad-release:1" }, other: { image: "example/bad-release:2" } },
      }),
    );
    await simulator.fleet.evaluateNow();

    const crashed = await eventually(
      () => reportedModules(second.deviceId),
      (m) => (m.other?.restartCount ?? 0) >= 1,
    );
    expect(crashed.app?.runtimeStatus).toBe("running");
    expect(crashed.app?.restartCount).toBe(0);
    await eventually(
      () => reportedModules(first.deviceId),
      (m) => (m.app?.restartCount ?? 0) >= 1,
    );
  });

  // Devices that received a bad release at the same moment must not crash in lockstep: if they did,
  // the whole fleet would report "running" at the same instants, which no real fleet does, and a
  // staged rollout's stage would look healthy for those instants.
  it("runs a crashing module for a different time on each device and restart, about crashAfterMs on average", async () => {
    const devices = Array.from({ length: 20 }, () => newDevice({ release: "bad-3" }).deviceId);
    simulator.fleet.injectImageFault("example/bad-release:3", "crash");
    await deploy(
      baseDeployment("lockstep-bad", {
        targetCondition: "tags.release='bad-3'",
        modules: { app: { image: "example/bad-release:3" } },
      }),
    );
    await simulator.fleet.evaluateNow();

    /** per device, the length of its last run before a crash, read while it backs off */
    const runs = new Map<string, number>();
    await eventually(
      () => {
        for (const deviceId of devices) {
          const app = reportedModules(deviceId).app;
          if (app?.runtimeStatus === "backoff" && (app.restartCount ?? 0) >= 1) {
            runs.set(
              deviceId,
              Date.parse(app.lastExitTimeUtc ?? "") - Date.parse(app.lastStartTimeUtc ?? ""),
            );
          }
        }
        return runs.size;
      },
      (size) => size === devices.length,
    );
    const lengths = [...runs.values()];
    const crashAfterMs = 60; // test/support/testSimulator.ts
    expect(Math.min(...lengths)).toBeGreaterThanOrEqual(crashAfterMs / 2);
    expect(Math.max(...lengths)).toBeLessThanOrEqual((crashAfterMs * 3) / 2);
    expect(new Set(lengths).size, `run lengths: ${lengths.join(", ")}`).toBeGreaterThanOrEqual(10);
  });

  it("leaves a crashed module failed under restartPolicy never", async () => {
    const { deviceId, group } = newDevice();
    simulator.fleet.injectFault(deviceId, "once", "crash");
    await deploy(
      baseDeployment(`${group}-never`, {
        targetCondition: `tags.group='${group}'`,
        modules: { once: { image: "example/once:1", restartPolicy: "never" } },
      }),
    );
    await simulator.fleet.evaluateNow();

    const failed = await eventually(
      () => reportedModules(deviceId),
      (m) => m.once?.runtimeStatus === "failed",
    );
    expect(failed.once).toMatchObject({ exitCode: 139, restartCount: 0 });
  });

  it("an offline device reports nothing until it reconnects, then catches up", async () => {
    const { deviceId, group } = newDevice({}, false);
    await deploy(
      baseDeployment(`${group}-offline`, {
        targetCondition: `tags.group='${group}'`,
        modules: { late: { image: "example/late:1" } },
      }),
    );
    await simulator.fleet.evaluateNow();
    expect(agentTwin(deviceId).configurations).toEqual({ [`${group}-offline`]: { status: "Applied" } });
    expect(agentTwin(deviceId).properties.reported.lastDesiredVersion).toBeUndefined();
    expect(simulator.fleet.deviceTwin(deviceId).connectionState).toBe("Disconnected");

    simulator.fleet.setOnline(deviceId, true);
    expect(simulator.fleet.deviceTwin(deviceId).connectionState).toBe("Connected");
    await eventually(
      () => reportedModules(deviceId),
      (m) => m.late?.runtimeStatus === "running",
    );
  });
});
