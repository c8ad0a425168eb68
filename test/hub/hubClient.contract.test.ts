// Contract of the hub client: the real azure-iothub SDK, through createHubClient, against the IoT Hub
// simulator over HTTPS on 443 of a loopback address. Every operation the connector relies on, and the
// hub's refusals it must recognise.

import { readFileSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createHubClient, type HubClientOptions } from "../../lib/hub/createHubClient.js";
import { getModuleLogs, restartModule } from "../../lib/hub/edgeAgentMethods.js";
import type {
  ConfigurationContent,
  ConfigurationRequest,
  HubClient,
  TwinDocument,
} from "../../lib/hub/hubClient.js";
import {
  HubConflictError,
  HubError,
  HubInvalidContentError,
  HubNotFoundError,
  HubQuotaExceededError,
  HubUnauthorizedError,
} from "../../lib/hub/hubErrors.js";
import type { RunningSimulator } from "../../dev/simulator/simulator.js";
import { eventually, startTestSimulator } from "../support/testSimulator.js";
import temperatureSensor from "./fixtures/temperature-sensor-deployment.json" with { type: "json" };

const content = temperatureSensor as ConfigurationContent;
const MODULE = "SimulatedTemperatureSensor";

function deployment(id: string, overrides: Partial<ConfigurationRequest> = {}): ConfigurationRequest {
  return {
    id,
    content,
    targetCondition: "tags.env='prod'",
    priority: 10,
    labels: { pod: `default/${id}` },
    ...overrides,
  };
}

function clientOf(sim: RunningSimulator, options: HubClientOptions = {}): HubClient {
  return createHubClient(sim.iotHubConnectionString, {
    trustedCa: readFileSync(sim.caCertPath, "utf8"),
    retry: { baseDelayMs: 20 },
    ...options,
  });
}

function runtimeStatus(twin: TwinDocument): unknown {
  const modules = twin.properties.reported["modules"] as
    Record<string, { runtimeStatus?: string }> | undefined;
  return modules?.[MODULE]?.runtimeStatus;
}

describe("hub client against the simulator", () => {
  let sim: RunningSimulator;
  let hub: HubClient;

  beforeAll(async () => {
    sim = await startTestSimulator({
      devices: [
        { deviceId: "dev-1", tags: { env: "prod" } },
        { deviceId: "dev-2", tags: { env: "lab" } },
        ...["a", "b", "c", "d", "e", "f", "g"].map((suffix) => ({
          deviceId: `fleet-${suffix}`,
          tags: { env: "fleet" },
        })),
      ],
    });
    hub = clientOf(sim);
  });
  afterAll(async () => {
    hub?.close();
    await sim?.stop();
  });

  describe("configurations", () => {
    it("creates, reads, lists with metrics, replaces under its etag and deletes a configuration", async () => {
      const created = await hub.createConfiguration(deployment("web-crud"));
      expect(created).toMatchObject({ id: "web-crud", priority: 10, targetCondition: "tags.env='prod'" });
      expect(created.etag).toEqual(expect.any(String));

      const read = await hub.getConfiguration("web-crud");
      expect(read.content).toEqual(content);
      expect(read.labels).toEqual({ pod: "default/web-crud" });

      const listed = await hub.listConfigurations();
      const entry = listed.find((configuration) => configuration.id === "web-crud");
      expect(entry?.systemMetrics?.results).toHaveProperty("targetedCount");

      const replaced = await hub.replaceConfiguration({
        ...deployment("web-crud"),
        priority: 20,
        etag: read.etag,
      });
      expect(replaced.priority).toBe(20);
      expect(replaced.etag).not.toBe(read.etag);

      await hub.deleteConfiguration("web-crud");
      await expect(hub.getConfiguration("web-crud")).rejects.toBeInstanceOf(HubNotFoundError);
    });

    it("refuses a replace with a stale etag as HubConflictError", async () => {
      const created = await hub.createConfiguration(deployment("web-etag"));
      await hub.replaceConfiguration({ ...deployment("web-etag"), priority: 11, etag: created.etag });
      const stale = hub.replaceConfiguration({ ...deployment("web-etag"), priority: 12, etag: created.etag });
      await expect(stale).rejects.toBeInstanceOf(HubConflictError);
      await expect(stale).rejects.toThrow(
        /^replace configuration "web-etag": .*\(HTTP 412 PreconditionFailed\)$/,
      );
    });

    it("refuses a change of content, which the hub keeps immutable, with the hub's message", async () => {
      const created = await hub.createConfiguration(deployment("web-immutable"));
      const changed = structuredClone(content);
      const agent = changed.modulesContent?.["$edgeAgent"] as {
        "properties.desired": { modules: Record<string, unknown> };
      };
      agent["properties.desired"].modules["extra"] = {
        version: "1.0",
        type: "docker",
        status: "running",
        restartPolicy: "always",
        settings: { image: "nginx:1.27", createOptions: "{}" },
      };
      const refused = hub.replaceConfiguration({
        ...deployment("web-immutable"),
        content: changed,
        etag: created.etag,
      });
      await expect(refused).rejects.toBeInstanceOf(HubInvalidContentError);
      await expect(refused).rejects.toThrow(/content cannot be updated/);
    });

    it("refuses a first create of an id that exists as HubConflictError", async () => {
      await hub.createConfiguration(deployment("web-twice"));
      const again = hub.createConfiguration(deployment("web-twice", { priority: 3 }));
      await expect(again).rejects.toBeInstanceOf(HubConflictError);
      await expect(again).rejects.toThrow(/^create configuration "web-twice": .*already exists/);
    });

    it("reports deleting an unknown configuration as HubNotFoundError", async () => {
      await expect(hub.deleteConfiguration("never-created")).rejects.toBeInstanceOf(HubNotFoundError);
    });

    it("absorbs throttling injected by the hub, waiting out each Retry-After, and counts the attempts", async () => {
      const sleeps: number[] = [];
      const patient = clientOf(sim, {
        environment: {
          now: () => Date.now(),
          random: () => 0,
          sleep: (ms) => {
            sleeps.push(ms);
            return Promise.resolve();
          },
        },
      });
      const throttledBefore = Object.values(sim.stats.throttled).reduce((sum, count) => sum + count, 0);
      sim.faults.throttleNext(3, 2);
      const created = await patient.createConfiguration(deployment("web-throttled"));
      patient.close();

      expect(created.id).toBe("web-throttled");
      expect(patient.counters).toMatchObject({
        attempts: 4,
        throttled: 3,
        retries: 3,
        successes: 1,
        failures: 0,
      });
      expect(sleeps).toEqual([2000, 2000, 2000]);
      const throttledAfter = Object.values(sim.stats.throttled).reduce((sum, count) => sum + count, 0);
      expect(throttledAfter - throttledBefore).toBe(3);
    });
  });

  describe("devices", () => {
    it("applies a deployment through the hub's evaluation and reads $edgeAgent's module twin once it runs", async () => {
      await hub.createConfiguration(deployment("sensor-prod"));
      await sim.fleet.evaluateNow();
      const twin = await eventually(
        () => hub.getModuleTwin("dev-1", "$edgeAgent"),
        (candidate) => runtimeStatus(candidate) === "running",
      );
      expect(twin).toMatchObject({ deviceId: "dev-1", moduleId: "$edgeAgent" });
      expect(twin.properties.desired).toHaveProperty(["modules", MODULE]);
    });

    it("applies configuration content to one device at once, without waiting for an evaluation", async () => {
      await hub.applyConfigurationContent("dev-2", content);
      const twin = await hub.getModuleTwin("dev-2", "$edgeAgent");
      expect(twin.properties.desired).toHaveProperty(["modules", MODULE, "settings", "image"]);
    });

    it("reads the running module's log lines through $edgeAgent GetModuleLogs, and restarts it", async () => {
      await hub.applyConfigurationContent("dev-2", content);
      await eventually(
        () => hub.getModuleTwin("dev-2", "$edgeAgent"),
        (twin) => runtimeStatus(twin) === "running",
      );
      const lines = await getModuleLogs(hub, "dev-2", { moduleName: MODULE, tail: 5 });
      expect(lines.length).toBeGreaterThan(0);
      expect(lines.length).toBeLessThanOrEqual(5);
      for (const line of lines) expect(line).not.toContain("\n");

      await expect(restartModule(hub, "dev-2", MODULE)).resolves.toBeUndefined();
    });

    it("reports a RestartModule of a module the device does not run with the agent's answer", async () => {
      const refused = restartModule(hub, "dev-1", "not-deployed");
      await expect(refused).rejects.toBeInstanceOf(HubError);
      await expect(refused).rejects.toThrow(
        /^invoke RestartModule for module "dev-1\/not-deployed": \$edgeAgent answered 400/,
      );
    });

    it("updates device twin tags and reads them back", async () => {
      const updated = await hub.updateDeviceTags("dev-2", { env: "stage", rack: "r7" });
      expect(updated.tags).toMatchObject({ env: "stage", rack: "r7" });
      const read = await hub.getDeviceTwin("dev-2");
      expect(read.tags).toMatchObject({ env: "stage", rack: "r7" });
    });

    it("refuses a tag update under a stale etag", async () => {
      const twin = await hub.getDeviceTwin("dev-1");
      await hub.updateDeviceTags("dev-1", { zone: "a" }, twin.etag);
      await expect(hub.updateDeviceTags("dev-1", { zone: "b" }, twin.etag)).rejects.toBeInstanceOf(
        HubConflictError,
      );
    });

    it("reads twins of unknown devices as HubNotFoundError", async () => {
      await expect(hub.getDeviceTwin("nobody")).rejects.toBeInstanceOf(HubNotFoundError);
    });
  });

  describe("twin queries", () => {
    it("follows continuation over more twins than a page holds", async () => {
      const pages: string[][] = [];
      for await (const page of hub.queryTwins("SELECT * FROM devices WHERE tags.env = 'fleet'", {
        pageSize: 3,
      })) {
        pages.push(page.map((twin) => twin.deviceId));
      }
      expect(pages.map((page) => page.length)).toEqual([3, 3, 1]);
      expect(pages.flat().sort()).toEqual(
        ["a", "b", "c", "d", "e", "f", "g"].map((suffix) => `fleet-${suffix}`),
      );
    });

    it("refuses an invalid query with the hub's message", async () => {
      const drain = async () => {
        for await (const _page of hub.queryTwins("SELECT * FROM devices WHERE")) {
          /* the first page already fails */
        }
      };
      await expect(drain()).rejects.toBeInstanceOf(HubInvalidContentError);
    });
  });

  describe("credentials", () => {
    it("reports a wrong key as HubUnauthorizedError without the key in the message", async () => {
      const wrongKey = Buffer.from("not the hub's key, but long enough").toString("base64");
      const connectionString = sim.iotHubConnectionString.replace(
        /SharedAccessKey=[^;]+/,
        `SharedAccessKey=${wrongKey}`,
      );
      const intruder = createHubClient(connectionString, { trustedCa: readFileSync(sim.caCertPath, "utf8") });
      const error = await intruder.getConfiguration("web-crud").catch((caught: unknown) => caught);
      intruder.close();
      expect(error).toBeInstanceOf(HubUnauthorizedError);
      expect(String(error)).toMatch(/^HubUnauthorizedError: read configuration "web-crud": unauthorized/);
      expect(String(error)).not.toContain(wrongKey);
      expect(JSON.stringify(error)).not.toContain(wrongKey);
    });
  });
});

describe("hub client against a free-tier (F1) simulator", () => {
  let sim: RunningSimulator;
  let hub: HubClient;

  beforeAll(async () => {
    sim = await startTestSimulator({ sku: "F1" });
    hub = clientOf(sim);
  });
  afterAll(async () => {
    hub?.close();
    await sim?.stop();
  });

  it("refuses the configuration past the tier's limit as HubQuotaExceededError", async () => {
    for (let index = 0; index < 10; index += 1) await hub.createConfiguration(deployment(`quota-${index}`));
    const oneTooMany = hub.createConfiguration(deployment("quota-10"));
    await expect(oneTooMany).rejects.toBeInstanceOf(HubQuotaExceededError);
    await expect(oneTooMany).rejects.toThrow(
      /^create configuration "quota-10": quota exceeded: .*maximum quota 10/,
    );
  });
});
