// The hub client with the real azure-iothub SDK over real TLS sockets, against a scripted hub that
// stages what the simulator cannot on demand: answers lost after the hub acted, reset and hung
// connections, Retry-After values, error bodies echoing the caller's token.

import { inspect } from "node:util";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { createHubClient, type HubClientOptions } from "../../lib/hub/createHubClient.js";
import type { HubAttemptEvent } from "../../lib/hub/hubCallStats.js";
import type { ConfigurationRequest } from "../../lib/hub/hubClient.js";
import {
  HubConflictError,
  HubError,
  HubInvalidContentError,
  HubNotFoundError,
  HubQuotaExceededError,
  HubThrottledError,
  HubUnauthorizedError,
  HubUnavailableError,
} from "../../lib/hub/hubErrors.js";
import {
  hubErrorBody,
  startScriptedHub,
  type RecordedRequest,
  type ScriptedAnswer,
  type ScriptedHub,
} from "./support/scriptedHub.js";

const deployment: ConfigurationRequest = {
  id: "web-1a2b",
  content: {
    modulesContent: { $edgeAgent: { "properties.desired": { modules: { web: { type: "docker" } } } } },
  },
  targetCondition: "tags.env='prod'",
  priority: 10,
  labels: { pod: "default/web" },
};
const stored = { ...deployment, schemaVersion: "1.0", etag: "MQ==" };

let hub: ScriptedHub;
beforeAll(async () => {
  hub = await startScriptedHub();
});
afterAll(async () => {
  await hub.stop();
});
beforeEach(() => {
  hub.requests.length = 0;
});

/** A client whose sleeps are recorded and skipped, so Retry-After values cost no test time. */
function clientFor(options: HubClientOptions = {}) {
  const events: HubAttemptEvent[] = [];
  const sleeps: number[] = [];
  const client = createHubClient(hub.connectionString, {
    trustedCa: hub.trustedCa,
    onAttempt: (event) => events.push(event),
    environment: {
      now: () => Date.now(),
      random: () => 0.5,
      sleep: (ms) => {
        sleeps.push(ms);
        return Promise.resolve();
      },
    },
    ...options,
  });
  return { client, events, sleeps };
}

const isConfigurationPut = (request: RecordedRequest) =>
  request.method === "PUT" && request.path === "/configurations/web-1a2b";

describe("hub client retries (real SDK, scripted hub)", () => {
  it("absorbs throttling, waits at least Retry-After, and counts every 429", async () => {
    hub.setScript((_request, index) =>
      index < 2
        ? {
            status: 429,
            headers: { "Retry-After": "3" },
            body: hubErrorBody("ThrottlingException", "slow down"),
          }
        : { status: 200, body: stored },
    );
    const { client, events, sleeps } = clientFor();
    const created = await client.createConfiguration(deployment);
    client.close();

    expect(created.etag).toBe("MQ==");
    expect(hub.requests).toHaveLength(3);
    expect(sleeps).toHaveLength(2);
    for (const sleep of sleeps) expect(sleep).toBeGreaterThanOrEqual(3000);
    expect(events.map((event) => event.outcome)).toEqual(["throttled", "throttled", "success"]);
    expect(client.counters).toMatchObject({
      attempts: 3,
      throttled: 2,
      retries: 2,
      successes: 1,
      failures: 0,
    });
  });

  it("gives up with HubThrottledError naming the operation, target and attempts when throttling persists", async () => {
    hub.setScript(() => ({ status: 429, body: hubErrorBody("ThrottlingException", "Rate limit exceeded") }));
    const { client } = clientFor({ retry: { maxAttempts: 3 } });
    const failure = client.getConfiguration("web-1a2b");
    await expect(failure).rejects.toBeInstanceOf(HubThrottledError);
    await expect(failure).rejects.toThrow(
      'read configuration "web-1a2b": throttled by the hub after 3 attempts: Rate limit exceeded (HTTP 429 ThrottlingException)',
    );
    client.close();
    expect(hub.requests).toHaveLength(3);
  });

  it("stops retrying when the hub's Retry-After would overrun the total time budget", async () => {
    hub.setScript(() => ({
      status: 429,
      headers: { "Retry-After": "120" },
      body: hubErrorBody("ThrottlingException", "busy"),
    }));
    const { client, sleeps } = clientFor({ retry: { maxTotalMs: 60_000 } });
    await expect(client.listConfigurations()).rejects.toBeInstanceOf(HubThrottledError);
    client.close();
    expect(hub.requests).toHaveLength(1);
    expect(sleeps).toEqual([]);
  });

  it("retries a reset connection and a 503", async () => {
    hub.setScript((_request, index) =>
      index === 0
        ? "reset"
        : index === 1
          ? { status: 503, body: hubErrorBody("ServiceUnavailable", "try later") }
          : { status: 200, body: [stored] },
    );
    const { client, events } = clientFor();
    const configurations = await client.listConfigurations();
    client.close();
    expect(configurations.map((configuration) => configuration.id)).toEqual(["web-1a2b"]);
    expect(events.map((event) => event.outcome)).toEqual(["transient", "transient", "success"]);
    expect(client.counters.transientFailures).toBe(2);
  });

  it("treats an attempt without an answer as a timeout and retries it", async () => {
    hub.setScript((_request, index) => (index === 0 ? "hang" : { status: 200, body: stored }));
    const { client, events } = clientFor({ retry: { attemptTimeoutMs: 200 } });
    const configuration = await client.getConfiguration("web-1a2b");
    client.close();
    expect(configuration.id).toBe("web-1a2b");
    expect(events[0]).toMatchObject({ outcome: "transient", retryInMs: expect.any(Number) });
  });

  it("reports HubUnavailableError after the attempts run out on 5xx", async () => {
    hub.setScript(() => ({ status: 500, body: hubErrorBody("ServerError", "internal error") }));
    const { client } = clientFor({ retry: { maxAttempts: 2 } });
    const failure = client.getDeviceTwin("dev-1");
    await expect(failure).rejects.toBeInstanceOf(HubUnavailableError);
    await expect(failure).rejects.toThrow(
      'read twin of device "dev-1": hub unavailable after 2 attempts: internal error (HTTP 500 ServerError)',
    );
    client.close();
    expect(hub.requests).toHaveLength(2);
  });
});

describe("idempotency-aware retries", () => {
  it("counts a create whose answer was lost as done when the retry finds the same configuration", async () => {
    let created = false;
    hub.setScript((request) => {
      if (isConfigurationPut(request) && !created) {
        created = true;
        return "reset"; // the hub created it, the answer never arrived
      }
      if (isConfigurationPut(request))
        return { status: 409, body: hubErrorBody("ConfigurationAlreadyExists", "already exists") };
      return { status: 200, body: stored };
    });
    const { client, events } = clientFor();
    const configuration = await client.createConfiguration(deployment);
    client.close();
    expect(configuration).toMatchObject({ id: "web-1a2b", etag: "MQ==" });
    expect(hub.requests.map((request) => request.method)).toEqual(["PUT", "PUT", "GET"]);
    expect(events.map((event) => event.outcome)).toEqual(["transient", "success", "recovered"]);
  });

  it("reports HubConflictError when the retried create finds a different configuration under the id", async () => {
    let first = true;
    hub.setScript((request) => {
      if (isConfigurationPut(request) && first) {
        first = false;
        return "reset";
      }
      if (isConfigurationPut(request))
        return {
          status: 409,
          body: hubErrorBody("ConfigurationAlreadyExists", "Configuration web-1a2b already exists"),
        };
      return { status: 200, body: { ...stored, priority: 99 } };
    });
    const { client } = clientFor();
    const failure = client.createConfiguration(deployment);
    await expect(failure).rejects.toBeInstanceOf(HubConflictError);
    await expect(failure).rejects.toThrow(
      'create configuration "web-1a2b": Configuration web-1a2b already exists (HTTP 409 ConfigurationAlreadyExists)',
    );
    client.close();
  });

  it("does not read back on a first-attempt 409: someone else holds the id", async () => {
    hub.setScript(() => ({ status: 409, body: hubErrorBody("ConfigurationAlreadyExists", "exists") }));
    const { client } = clientFor();
    await expect(client.createConfiguration(deployment)).rejects.toBeInstanceOf(HubConflictError);
    client.close();
    expect(hub.requests).toHaveLength(1);
  });

  it("counts a delete whose answer was lost as done when the retry finds nothing", async () => {
    hub.setScript((_request, index) =>
      index === 0 ? "reset" : { status: 404, body: hubErrorBody("ConfigurationNotFound", "not found") },
    );
    const { client, events } = clientFor();
    await client.deleteConfiguration("web-1a2b");
    client.close();
    expect(hub.requests.map((request) => request.method)).toEqual(["DELETE", "DELETE"]);
    expect(events.at(-1)?.outcome).toBe("recovered");
  });

  it("reports HubNotFoundError for a delete of a configuration that never existed", async () => {
    hub.setScript(() => ({
      status: 404,
      body: hubErrorBody("ConfigurationNotFound", "Configuration web-1a2b not found"),
    }));
    const { client } = clientFor();
    await expect(client.deleteConfiguration("web-1a2b")).rejects.toBeInstanceOf(HubNotFoundError);
    client.close();
  });

  it("counts a replace whose answer was lost as done when the stale-etag retry finds the requested declaration", async () => {
    const replacement = { ...deployment, priority: 20, etag: "MQ==" };
    let replaced = false;
    hub.setScript((request) => {
      if (isConfigurationPut(request) && !replaced) {
        replaced = true;
        return "reset";
      }
      if (isConfigurationPut(request))
        return { status: 412, body: hubErrorBody("PreconditionFailed", "etag mismatch") };
      return { status: 200, body: { ...stored, priority: 20, etag: "Mg==" } };
    });
    const { client } = clientFor();
    const result = await client.replaceConfiguration(replacement);
    client.close();
    expect(result).toMatchObject({ priority: 20, etag: "Mg==" });
    expect(hub.requests[0]?.headers["if-match"]).toBe('"MQ=="');
  });

  it("counts a tag update whose answer was lost as done when the stale-etag retry finds the tags set", async () => {
    const twin = {
      deviceId: "dev-1",
      etag: "AAAAAAAAAAI=",
      tags: { env: "stage" },
      properties: { desired: {}, reported: {} },
    };
    hub.setScript((request, index) => {
      if (request.method === "PATCH" && index === 0) return "reset";
      if (request.method === "PATCH")
        return { status: 412, body: hubErrorBody("PreconditionFailed", "etag mismatch") };
      return { status: 200, body: twin };
    });
    const { client } = clientFor();
    const updated = await client.updateDeviceTags("dev-1", { env: "stage", retired: null }, "AAAAAAAAAAE=");
    client.close();
    expect(updated.tags).toEqual({ env: "stage" });
    expect(hub.requests.map((request) => request.method)).toEqual(["PATCH", "PATCH", "GET"]);
    expect(hub.requests[0]?.body).toEqual({ tags: { env: "stage", retired: null } });
  });

  it("does not repeat a direct method whose answer timed out at the hub (504)", async () => {
    hub.setScript(() => ({
      status: 504,
      body: hubErrorBody("GatewayTimeout", "Timed out waiting for the response from device"),
    }));
    const { client } = clientFor();
    const failure = client.invokeModuleMethod("dev-1", "$edgeAgent", {
      methodName: "RestartModule",
      payload: { schemaVersion: "1.0", id: "web" },
    });
    await expect(failure).rejects.toBeInstanceOf(HubUnavailableError);
    await expect(failure).rejects.toThrow('invoke RestartModule on module "dev-1/$edgeAgent"');
    client.close();
    expect(hub.requests).toHaveLength(1);
  });

  it("repeats a throttled direct method, which the hub never delivered", async () => {
    hub.setScript((_request, index) =>
      index === 0
        ? { status: 429, body: hubErrorBody("ThrottlingException", "busy") }
        : { status: 200, body: { status: 200, payload: { ok: true } } },
    );
    const { client } = clientFor();
    const result = await client.invokeModuleMethod("dev-1", "$edgeAgent", {
      methodName: "ping",
      responseTimeoutSeconds: 10,
    });
    client.close();
    expect(result).toEqual({ status: 200, payload: { ok: true } });
    expect(hub.requests[1]).toMatchObject({
      path: "/twins/dev-1/modules/%24edgeAgent/methods",
      body: { methodName: "ping", responseTimeoutInSeconds: 10, connectTimeoutInSeconds: 0 },
    });
  });
});

describe("error mapping (real SDK errors)", () => {
  it.each([
    [400, "ArgumentInvalid", HubInvalidContentError, "content of configuration cannot be changed"],
    [403, "IotHubQuotaExceeded", HubQuotaExceededError, "Total number of configurations exceeds the limit"],
    [409, "ConfigurationCountLimitExceeded", HubQuotaExceededError, "too many configurations"],
    [412, "PreconditionFailed", HubConflictError, "etag mismatch"],
    [404, "ConfigurationNotFound", HubNotFoundError, "Configuration web-1a2b not found"],
  ] as const)("maps HTTP %i %s to %o with the hub's message", async (status, code, ErrorClass, message) => {
    hub.setScript(() => ({ status, body: hubErrorBody(code, message) }));
    const { client } = clientFor();
    const failure = client.replaceConfiguration({ ...deployment, etag: "MQ==" });
    await expect(failure).rejects.toBeInstanceOf(ErrorClass);
    await expect(failure).rejects.toThrow(`replace configuration "web-1a2b": `);
    await expect(failure).rejects.toThrow(`${message} (HTTP ${status} ${code})`);
    client.close();
    expect(hub.requests).toHaveLength(1);
  });
});

describe("secrets never leak", () => {
  const echoAuthorization = (request: RecordedRequest) =>
    `token ${String(request.headers.authorization)} rejected for https://${hub.host}/configurations?sig=${encodeURIComponent(hub.sharedAccessKey)}`;

  it("keeps the SAS token, its signature and the key out of a 401 error, even when the hub echoes them", async () => {
    hub.setScript((request) => ({
      status: 401,
      body: hubErrorBody("IotHubUnauthorizedAccess", echoAuthorization(request)),
    }));
    const { client } = clientFor();
    const error = await client.getConfiguration("web-1a2b").catch((caught: unknown) => caught);
    client.close();
    expect(error).toBeInstanceOf(HubUnauthorizedError);
    const authorization = String(hub.requests[0]?.headers.authorization);
    const signature = /sig=([^&]+)/.exec(authorization)?.[1] ?? "missing";
    expect(authorization).toContain("SharedAccessSignature");
    for (const rendering of [
      String(error),
      inspect(error, { depth: 10, showHidden: true }),
      JSON.stringify(error),
    ]) {
      expect(rendering).not.toContain(hub.sharedAccessKey);
      expect(rendering).not.toContain(encodeURIComponent(hub.sharedAccessKey));
      expect(rendering).not.toContain(signature);
      expect(rendering).not.toContain(decodeURIComponent(signature));
    }
    expect(String(error)).toContain('read configuration "web-1a2b": unauthorized');
  });

  it("keeps them out of retry log lines too", async () => {
    hub.setScript((request, index) =>
      index === 0
        ? { status: 503, body: hubErrorBody("ServiceUnavailable", echoAuthorization(request)) }
        : { status: 200, body: stored },
    );
    const lines: string[] = [];
    const { client } = clientFor({
      logger: { warn: (fields, message) => lines.push(JSON.stringify(fields) + message) },
    });
    await client.getConfiguration("web-1a2b");
    client.close();
    expect(lines).toHaveLength(1);
    const signature = /sig=([^&]+)/.exec(String(hub.requests[0]?.headers.authorization))?.[1] ?? "missing";
    expect(lines[0]).toContain("retrying in");
    expect(lines[0]).not.toContain(hub.sharedAccessKey);
    expect(lines[0]).not.toContain(signature);
  });

  it("names the missing field of a bad connection string without echoing it", () => {
    const withoutKey = `HostName=${hub.host};SharedAccessKeyName=iothubowner;SharedAccesKey=${hub.sharedAccessKey}`;
    expect(() => createHubClient(withoutKey)).toThrow("IoT Hub connection string has no SharedAccessKey");
    try {
      createHubClient(withoutKey);
    } catch (error) {
      expect(String(error)).not.toContain(hub.sharedAccessKey);
    }
  });
});

describe("client options", () => {
  it.each([
    [{ maxAttempts: 0 }, "hub client option retry.maxAttempts must be an integer >= 1, got 0"],
    [{ maxAttempts: 2.5 }, "hub client option retry.maxAttempts must be an integer >= 1, got 2.5"],
    [{ baseDelayMs: -1 }, "hub client option retry.baseDelayMs must be a number >= 0, got -1"],
    [{ maxTotalMs: Number.NaN }, "hub client option retry.maxTotalMs must be a number >= 0, got NaN"],
  ])("refuses retry options %o naming the field", (retry, message) => {
    expect(() => createHubClient(hub.connectionString, { retry })).toThrow(message);
  });

  it("refuses an empty configuration id before calling the hub", async () => {
    const { client } = clientFor();
    await expect(client.getConfiguration("")).rejects.toThrow("configuration id must be a non-empty string");
    client.close();
    expect(hub.requests).toHaveLength(0);
  });
});

describe("twin queries", () => {
  it("follows continuation tokens and retries a throttled page with the same token", async () => {
    const pages = [
      { twins: [{ deviceId: "dev-1" }, { deviceId: "dev-2" }], next: "page-2" },
      { twins: [{ deviceId: "dev-3" }], next: undefined },
    ];
    let throttledOnce = false;
    hub.setScript((request): ScriptedAnswer => {
      const token = request.headers["x-ms-continuation"];
      if (token === "page-2" && !throttledOnce) {
        throttledOnce = true;
        return { status: 429, body: hubErrorBody("ThrottlingException", "busy") };
      }
      const page = token === "page-2" ? pages[1]! : pages[0]!;
      return { status: 200, body: page.twins, headers: page.next ? { "x-ms-continuation": page.next } : {} };
    });
    const { client } = clientFor();
    const seen: string[][] = [];
    for await (const page of client.queryTwins("SELECT * FROM devices", { pageSize: 2 })) {
      seen.push(page.map((twin) => twin.deviceId));
    }
    client.close();
    expect(seen).toEqual([["dev-1", "dev-2"], ["dev-3"]]);
    expect(hub.requests.map((request) => request.headers["x-ms-continuation"])).toEqual([
      undefined,
      "page-2",
      "page-2",
    ]);
    expect(hub.requests[0]?.headers["x-ms-max-item-count"]).toBe("2");
  });

  it("refuses a hub that repeats a continuation token instead of looping", async () => {
    hub.setScript(() => ({
      status: 200,
      body: [{ deviceId: "dev-1" }],
      headers: { "x-ms-continuation": "same" },
    }));
    const { client } = clientFor();
    const pages = client.queryTwins("SELECT * FROM devices");
    const drain = async () => {
      for await (const _page of pages) {
        /* read every page */
      }
    };
    await expect(drain()).rejects.toThrow(HubError);
    client.close();
    expect(hub.requests).toHaveLength(2);
  });
});
