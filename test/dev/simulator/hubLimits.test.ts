// Per-SKU limits as the real azure-iothub client meets them: deployment count, modules per deployment,
// traffic shaping (a short burst is queued, a sustained excess gets 429 with Retry-After) and injected
// throttling for client retry tests.
import iothub from "azure-iothub";
import { afterEach, describe, expect, it } from "vitest";
import type { RunningSimulator, SimulatorOptions } from "../../../dev/simulator/simulator.js";
import { baseDeployment } from "../../support/deployments.js";
import { startTestSimulator } from "../../support/testSimulator.js";

let simulator: RunningSimulator | undefined;
// A clock that stands still: token buckets never refill, so shaping decisions do not depend on how fast
// this machine sends the requests.
const frozenClock = () => new Date("2026-11-25T12:00:00Z");

async function start(options: SimulatorOptions): Promise<iothub.Registry> {
  simulator = await startTestSimulator(options);
  return iothub.Registry.fromConnectionString(simulator.iotHubConnectionString);
}

afterEach(async () => {
  await simulator?.stop();
  simulator = undefined;
});

const modules = (count: number) =>
  Object.fromEntries(Array.from({ length: count }, (_, i) => [`m${i}`, { image: `example/m${i}:1` }]));

describe("deployment limits", () => {
  it("refuses the 11th deployment on a free hub with 413 ConfigurationCountLimitExceeded", async () => {
    const registry = await start({ sku: "F1" });
    for (let i = 0; i < 10; i += 1) {
      await registry.addConfiguration(baseDeployment(`d-${i}`, { targetCondition: "*", modules: {} }));
    }
    const refusal = await registry
      .addConfiguration(baseDeployment("d-10", { targetCondition: "*", modules: {} }))
      .then(
        () => undefined,
        (error: { responseBody: string; response: { statusCode: number } }) => error,
      );
    expect(refusal?.response.statusCode).toBe(413);
    expect(JSON.parse(refusal?.responseBody ?? "{}")).toMatchObject({
      Message:
        "ErrorCode:ConfigurationCountLimitExceeded;Number of deployments exceed the maximum quota 10 for this IotHub.",
    });
  });

  it("refuses a deployment of 21 modules on a paid hub, naming the limit", async () => {
    const registry = await start({ sku: "S1" });
    await registry.addConfiguration(baseDeployment("twenty", { targetCondition: "*", modules: modules(20) }));
    await expect(
      registry.addConfiguration(baseDeployment("twenty-one", { targetCondition: "*", modules: modules(21) })),
    ).rejects.toMatchObject({
      name: "ArgumentError",
      message: expect.stringContaining("deploys 21 modules, a deployment may hold at most 20"),
    });
  });

  it("has no count limit when unlimited", async () => {
    const registry = await start({ sku: "unlimited" });
    for (let i = 0; i < 12; i += 1) {
      await registry.addConfiguration(baseDeployment(`u-${i}`, { targetCondition: "*", modules: {} }));
    }
    expect((await registry.getConfigurations()).responseBody).toHaveLength(12);
  });
});

describe("traffic shaping", () => {
  it("queues a short burst over the twin read rate and answers every request", async () => {
    const registry = await start({ sku: "F1", devices: [{ deviceId: "burst" }], now: frozenClock });
    // F1 reads 10 twins a second: 13 at once are three over, which shaping delays by about 300 ms.
    const reads = await Promise.all(Array.from({ length: 13 }, () => registry.getTwin("burst")));
    expect(reads.every((read) => read.httpResponse.statusCode === 200)).toBe(true);
    expect(simulator?.stats.shaped.twinReads).toBe(3);
    expect(simulator?.stats.throttled.twinReads).toBe(0);
  });

  it("answers a sustained excess of configuration operations with 429 ThrottlingException and Retry-After", async () => {
    const registry = await start({ sku: "S1", maxQueueDelayMs: 500, now: frozenClock });
    // S1 x1 allows 20 configuration operations a minute: the 21st would wait 3 s, past the shaping window.
    for (let i = 0; i < 20; i += 1) await registry.getConfigurations();
    const refusal = await registry.getConfigurations().then(
      () => undefined,
      (error: {
        name: string;
        responseBody: string;
        response: { statusCode: number; headers: Record<string, string> };
      }) => error,
    );
    expect(refusal?.name).toBe("ThrottlingError");
    expect(refusal?.response.statusCode).toBe(429);
    expect(Number(refusal?.response.headers["retry-after"])).toBeGreaterThanOrEqual(1);
    expect(JSON.parse(refusal?.responseBody ?? "{}").Message).toMatch(/^ErrorCode:ThrottlingException;/);
    expect(simulator?.stats.throttled.configurations).toBe(1);
  });

  it("scales the configuration budget with units", async () => {
    const registry = await start({ sku: "S1", units: 2, maxQueueDelayMs: 0, now: frozenClock });
    for (let i = 0; i < 40; i += 1) await registry.getConfigurations();
    await expect(registry.getConfigurations()).rejects.toMatchObject({ name: "ThrottlingError" });
  });
});

describe("injected throttling", () => {
  it("throttles exactly the next n requests, then serves again", async () => {
    const registry = await start({ sku: "unlimited", devices: [{ deviceId: "retry-me" }] });
    simulator?.faults.throttleNext(2, 3);
    const first = await registry.getTwin("retry-me").then(
      () => undefined,
      (error: { name: string; response: { headers: Record<string, string> } }) => error,
    );
    expect(first?.name).toBe("ThrottlingError");
    expect(first?.response.headers["retry-after"]).toBe("3");
    await expect(registry.getTwin("retry-me")).rejects.toMatchObject({ name: "ThrottlingError" });
    expect((await registry.getTwin("retry-me")).httpResponse.statusCode).toBe(200);
    expect(simulator?.stats.throttled.twinReads).toBe(2);
  });
});

describe("injected outage", () => {
  it("answers every request with the outage's status until it ends: 429 with Retry-After, then 503", async () => {
    const registry = await start({ sku: "unlimited", devices: [{ deviceId: "outage" }] });
    simulator?.faults.outage({ status: 429, retryAfterSeconds: 5 });
    for (let i = 0; i < 3; i += 1)
      await expect(registry.getConfigurations()).rejects.toMatchObject({ name: "ThrottlingError" });
    simulator?.faults.outage({ status: 503 });
    const unavailable = await registry.getTwin("outage").then(
      () => undefined,
      (error: { response: { statusCode: number } }) => error,
    );
    expect(unavailable?.response.statusCode).toBe(503);
    simulator?.faults.outage(undefined);
    expect((await registry.getTwin("outage")).httpResponse.statusCode).toBe(200);
  });
});
