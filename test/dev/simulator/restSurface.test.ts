// The REST surface as the real azure-iothub Registry and Client see it: status codes, error bodies,
// etags, continuation tokens, SAS checks and the $edgeAgent direct methods.
import { request } from "node:https";
import iothub from "azure-iothub";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createSasToken } from "../../../dev/simulator/sasAuthentication.js";
import type { RunningSimulator } from "../../../dev/simulator/simulator.js";
import { baseDeployment } from "../../support/deployments.js";
import type {
  ConfigurationBody,
  DeviceTwin,
  EdgeAgentTwin,
  MethodResult,
  ModuleLogs,
} from "../../support/hubShapes.js";
import { eventually, startTestSimulator } from "../../support/testSimulator.js";

let simulator: RunningSimulator;
let registry: iothub.Registry;

const fleetSeeds = Array.from({ length: 7 }, (_, i) => ({
  deviceId: `rest-${String(i).padStart(2, "0")}`,
  tags: { environment: i < 5 ? "dev" : "prod" },
}));

beforeAll(async () => {
  simulator = await startTestSimulator({ devices: fleetSeeds });
  registry = iothub.Registry.fromConnectionString(simulator.iotHubConnectionString);
});

afterAll(async () => {
  await simulator?.stop();
});

/** Raw HTTPS call with a chosen Authorization header, for what the SDK would never send. */
function rawGet(
  path: string,
  authorization: string,
): Promise<{ status: number; body: { Message: string; ExceptionMessage: string } }> {
  return new Promise((resolve, reject) => {
    const req = request(
      { host: simulator.host, port: 443, path, method: "GET", headers: { authorization } },
      (res) => {
        let text = "";
        res.on("data", (chunk: Buffer) => (text += chunk.toString()));
        res.on("end", () =>
          resolve({
            status: res.statusCode ?? 0,
            body: JSON.parse(text) as { Message: string; ExceptionMessage: string },
          }),
        );
      },
    );
    req.on("error", reject);
    req.end();
  });
}

describe("configurations", () => {
  it("creates a deployment, returns it with an etag, and lists it", async () => {
    const created = await registry.addConfiguration(
      baseDeployment("crud-1", {
        priority: 3,
        targetCondition: "tags.environment='dev'",
        modules: { a: { image: "example/a:1" } },
      }),
    );
    expect(created.httpResponse.statusCode).toBe(201);
    const body = created.responseBody as unknown as ConfigurationBody;
    expect(body).toMatchObject({
      id: "crud-1",
      priority: 3,
      schemaVersion: "1.0",
      targetCondition: "tags.environment='dev'",
    });
    expect(typeof body.etag).toBe("string");
    expect(Date.parse(body.createdTimeUtc)).toBeGreaterThan(0);

    const listed = (await registry.getConfigurations()).responseBody as unknown as ConfigurationBody[];
    expect(listed.map((c) => c.id)).toContain("crud-1");
  });

  it("updates labels, target condition and priority under If-Match, and refuses a stale etag with 412", async () => {
    const created = (
      await registry.addConfiguration(
        baseDeployment("crud-2", {
          priority: 1,
          targetCondition: "tags.environment='dev'",
          modules: { a: { image: "example/a:1" } },
        }),
      )
    ).responseBody as unknown as ConfigurationBody;
    const updated = (
      await registry.updateConfiguration({
        ...created,
        priority: 9,
        targetCondition: "tags.environment='prod'",
        labels: { v: "2" },
      })
    ).responseBody as unknown as ConfigurationBody;
    expect(updated).toMatchObject({
      priority: 9,
      targetCondition: "tags.environment='prod'",
      labels: { v: "2" },
    });
    expect(updated.etag).not.toBe(created.etag);

    await expect(registry.updateConfiguration({ ...created, priority: 4 })).rejects.toMatchObject({
      name: "InvalidEtagError",
      responseBody: expect.stringContaining("ErrorCode:PreconditionFailed;"),
    });
  });

  it("refuses to change a deployment's content: it is immutable", async () => {
    const created = (
      await registry.addConfiguration(
        baseDeployment("crud-3", {
          targetCondition: "tags.environment='dev'",
          modules: { a: { image: "example/a:1" } },
        }),
      )
    ).responseBody as unknown as ConfigurationBody;
    const changed = structuredClone(created);
    const agentContent = changed.content.modulesContent["$edgeAgent"]?.["properties.desired"];
    if (!agentContent?.modules["a"]) throw new Error("the deployment should deploy module a");
    agentContent.modules["a"].settings.image = "example/a:2";
    await expect(registry.updateConfiguration(changed)).rejects.toMatchObject({
      name: "ArgumentError",
      message: expect.stringContaining(
        "content cannot be updated, only labels, targetCondition, priority and metrics can change",
      ),
    });
  });

  it("refuses an id the hub would refuse, naming the rule", async () => {
    await expect(
      registry.addConfiguration(baseDeployment("Upper Case", { targetCondition: "*", modules: {} })),
    ).rejects.toMatchObject({
      message: expect.stringContaining(
        "Configuration id 'Upper Case' is invalid: use 1-128 lower case letters",
      ),
    });
  });

  it("refuses a target condition that does not parse, saying where", async () => {
    await expect(
      registry.addConfiguration(
        baseDeployment("bad-target", { targetCondition: "tags.environment = ", modules: {} }),
      ),
    ).rejects.toMatchObject({
      name: "ArgumentError",
      message: expect.stringContaining("targetCondition is invalid: Expected a property path"),
    });
  });

  it("refuses to create a deployment whose id exists, and deletes with 404 after", async () => {
    await registry.addConfiguration(baseDeployment("crud-4", { targetCondition: "*", modules: {} }));
    await expect(
      registry.addConfiguration(baseDeployment("crud-4", { targetCondition: "*", modules: {} })),
    ).rejects.toMatchObject({
      responseBody: expect.stringContaining("ErrorCode:ConfigurationAlreadyExists;"),
    });
    await registry.removeConfiguration("crud-4");
    await expect(registry.getConfiguration("crud-4")).rejects.toMatchObject({
      responseBody: expect.stringContaining("ErrorCode:ConfigurationNotFound;"),
    });
  });

  it("computes custom metric queries as counts", async () => {
    const deployment = {
      ...baseDeployment("metrics-1", {
        targetCondition: "tags.environment='prod'",
        modules: { m: { image: "example/m:1" } },
      }),
      metrics: {
        queries: {
          prodDevices: "SELECT deviceId FROM devices WHERE tags.environment = 'prod'",
          edgeAgents: "SELECT deviceId FROM devices.modules WHERE moduleId = '$edgeAgent'",
        },
      },
    };
    await registry.addConfiguration(deployment);
    const metrics = (
      (await registry.getConfiguration("metrics-1")).responseBody as unknown as ConfigurationBody
    ).metrics;
    expect(metrics.results).toEqual({ prodDevices: 2, edgeAgents: 7 });
    expect(metrics.queries.prodDevices).toBe("SELECT deviceId FROM devices WHERE tags.environment = 'prod'");
  });
});

describe("twins and queries", () => {
  it("reads device and module twins and updates tags with an etag", async () => {
    const twin = (await registry.getTwin("rest-00")).responseBody as unknown as DeviceTwin;
    expect(twin).toMatchObject({
      deviceId: "rest-00",
      tags: { environment: "dev" },
      capabilities: { iotEdge: true },
      connectionState: "Connected",
    });
    const updated = (await registry.updateTwin("rest-00", { tags: { floor: 2 } }, twin.etag))
      .responseBody as unknown as DeviceTwin;
    expect(updated.tags).toEqual({ environment: "dev", floor: 2 });
    expect(updated.version).toBe(twin.version + 1);

    const agent = (await registry.getModuleTwin("rest-00", "$edgeAgent"))
      .responseBody as unknown as EdgeAgentTwin;
    expect(agent).toMatchObject({ deviceId: "rest-00", moduleId: "$edgeAgent" });
    await expect(registry.getTwin("no-such-device")).rejects.toMatchObject({ name: "DeviceNotFoundError" });
  });

  it("pages query results with continuation tokens and page size", async () => {
    const query = registry.createQuery("SELECT * FROM devices WHERE tags.environment = 'dev'", 2);
    const ids: string[] = [];
    for (let page = 0; page < 10 && query.hasMoreResults; page += 1) {
      const { result } = await query.nextAsTwin();
      expect(result.length).toBeLessThanOrEqual(2);
      ids.push(...(result as unknown as DeviceTwin[]).map((t) => t.deviceId));
    }
    expect(ids).toEqual(["rest-00", "rest-01", "rest-02", "rest-03", "rest-04"]);
  });

  it("answers a malformed query with 400 naming the problem", async () => {
    await expect(registry.createQuery("SELECT * FROM devices WHERE tags.a ==").next()).rejects.toMatchObject({
      name: "ArgumentError",
      message: expect.stringContaining("Query is invalid"),
    });
  });

  it("creates a device over REST that is a simulated edge device", async () => {
    await registry.create({ deviceId: "rest-created", capabilities: { iotEdge: true } });
    const device = (await registry.get("rest-created")).responseBody;
    expect(device).toMatchObject({ deviceId: "rest-created", capabilities: { iotEdge: true } });
    await expect(registry.create({ deviceId: "rest-created" })).rejects.toMatchObject({
      name: "DeviceAlreadyExistsError",
    });
  });
});

describe("authentication", () => {
  const path = "/twins/rest-00?api-version=2021-04-12";
  const policy = () => {
    const parts = Object.fromEntries(
      simulator.iotHubConnectionString.split(";").map((p) => p.split(/=(.*)/s).slice(0, 2)),
    );
    return {
      hostName: parts.HostName as string,
      keyName: parts.SharedAccessKeyName as string,
      key: parts.SharedAccessKey as string,
    };
  };

  it("accepts a valid token", async () => {
    const { status } = await rawGet(path, createSasToken(policy(), Math.floor(Date.now() / 1000) + 600));
    expect(status).toBe(200);
  });

  it("rejects a token signed with the wrong key with 401 and the hub's error body", async () => {
    const wrongKey = Buffer.alloc(32, 7).toString("base64");
    const { status, body } = await rawGet(
      path,
      createSasToken({ ...policy(), key: wrongKey }, Math.floor(Date.now() / 1000) + 600),
    );
    expect(status).toBe(401);
    expect(body.Message).toMatch(/^ErrorCode:IotHubUnauthorizedAccess;Unauthorized/);
    expect(body.ExceptionMessage).toMatch(/^Tracking ID:[0-9a-f]{32}-G:0-TimeStamp:/);
  });

  it("rejects an expired token with 401", async () => {
    const { status, body } = await rawGet(path, createSasToken(policy(), Math.floor(Date.now() / 1000) - 5));
    expect(status).toBe(401);
    expect(body.Message).toContain("token expired");
  });

  it("rejects a client built from a connection string with a wrong key", async () => {
    const wrong = simulator.iotHubConnectionString.replace(
      /SharedAccessKey=[^;]+/,
      `SharedAccessKey=${Buffer.alloc(32, 1).toString("base64")}`,
    );
    await expect(iothub.Registry.fromConnectionString(wrong).getTwin("rest-00")).rejects.toMatchObject({
      name: "UnauthorizedError",
    });
  });
});

describe("$edgeAgent direct methods", () => {
  let client: iothub.Client;
  beforeAll(async () => {
    client = iothub.Client.fromConnectionString(simulator.iotHubConnectionString);
    await registry.addConfiguration(
      baseDeployment("methods", {
        targetCondition: "tags.environment='prod'",
        modules: { sensor: { image: "example/sensor:1" } },
      }),
    );
    await simulator.fleet.evaluateNow();
    await eventually(
      () =>
        (simulator.fleet.moduleTwin("rest-05", "$edgeAgent") as unknown as EdgeAgentTwin).properties.reported
          .modules?.["sensor"]?.runtimeStatus,
      (status) => status === "running",
    );
  });

  it("answers ping", async () => {
    const { result } = await client.invokeDeviceMethod("rest-05", "$edgeAgent", {
      methodName: "ping",
      payload: null,
    });
    expect(result).toEqual({ status: 200, payload: null });
  });

  it("returns module logs in edge log format, honouring tail", async () => {
    const { result } = await client.invokeDeviceMethod("rest-05", "$edgeAgent", {
      methodName: "GetModuleLogs",
      payload: {
        schemaVersion: "1.0",
        items: [{ id: "sensor", filter: { tail: 1 } }],
        encoding: "none",
        contentType: "text",
      },
    });
    const logs = (result as MethodResult).payload as ModuleLogs[];
    expect(logs).toHaveLength(1);
    expect(logs[0]?.name).toBe("sensor");
    const lines = logs[0]?.payload.split("\n");
    expect(lines).toHaveLength(1);
    expect(lines?.[0]).toMatch(/^<\d> \d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3} \+00:00 \[(INF|ERR|WRN)\] - /);
  });

  it("honours since: nothing older than the window", async () => {
    const { result } = await client.invokeDeviceMethod("rest-05", "$edgeAgent", {
      methodName: "GetModuleLogs",
      payload: {
        schemaVersion: "1.0",
        items: [{ id: "sensor", filter: { since: new Date(Date.now() + 60_000).toISOString() } }],
      },
    });
    expect((result as MethodResult).payload).toEqual([{ name: "sensor", payload: "" }]);
  });

  it("answers a malformed GetModuleLogs with status 400 naming the field", async () => {
    const { result } = await client.invokeDeviceMethod("rest-05", "$edgeAgent", {
      methodName: "GetModuleLogs",
      payload: { schemaVersion: "1.0", items: [{ id: "sensor", filter: { tail: -1 } }] },
    });
    expect(result).toEqual({
      status: 400,
      payload: { message: "items[0].filter.tail must be a non-negative integer" },
    });
  });

  it("restarts a module with RestartModule", async () => {
    const { result } = await client.invokeDeviceMethod("rest-05", "$edgeAgent", {
      methodName: "RestartModule",
      payload: { schemaVersion: "1.0", id: "sensor" },
    });
    expect((result as MethodResult).status).toBe(200);
  });

  it("refuses a payload over 128 KB with 413", async () => {
    await expect(
      client.invokeDeviceMethod("rest-05", "$edgeAgent", {
        methodName: "ping",
        payload: { blob: "x".repeat(130 * 1024) },
      }),
    ).rejects.toMatchObject({ responseBody: expect.stringContaining("ErrorCode:MessageTooLarge;") });
  });

  it("cannot reach an offline device", async () => {
    simulator.fleet.setOnline("rest-06", false);
    await expect(
      client.invokeDeviceMethod("rest-06", "$edgeAgent", { methodName: "ping", payload: null }),
    ).rejects.toMatchObject({
      responseBody: expect.stringContaining("ErrorCode:DeviceNotOnline;"),
    });
  });
});
