// The applier's hub operations against the simulator over the real SDK: each hub answer becomes the
// outcome the planner understands.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createHubClient } from "../../lib/hub/createHubClient.js";
import { connectorFor, runHubAction } from "../../lib/scheduler/hubOperations.js";
import type { RunningSimulator } from "../../dev/simulator/simulator.js";
import { startTestSimulator } from "../support/testSimulator.js";
import { replicaWants } from "./replicaPods.js";

const configurationOf = (name: string) =>
  replicaWants({ name, image: "contoso/app:1.0" }, 1)[0]!.configuration;

describe("scheduler hub operations", () => {
  let hub: RunningSimulator;
  let connect: ReturnType<typeof connectorFor>;

  beforeAll(async () => {
    hub = await startTestSimulator({ sku: "F1" });
    connect = connectorFor(hub.iotHubConnectionString);
  });
  afterAll(async () => hub?.stop());

  it("creates a configuration, and counts one already on the hub under its id as created", async () => {
    const configuration = configurationOf("web");
    const target = { kind: "create", configurationId: configuration.id };
    expect(await runHubAction({ kind: "create", configuration }, connect)).toEqual({
      ...target,
      outcome: "done",
    });
    expect(await runHubAction({ kind: "create", configuration }, connect)).toEqual({
      ...target,
      outcome: "done",
    });
  });

  it("lists the ids of every configuration on the hub", async () => {
    const result = await runHubAction({ kind: "inventory" }, connect);
    expect(result).toEqual({
      kind: "inventory",
      outcome: "done",
      configurationIds: [configurationOf("web").id],
    });
  });

  it("moves a configuration's target condition and priority in place with one hub operation", async () => {
    const configuration = configurationOf("web");
    const stage = {
      ...configuration,
      targetCondition: `(${configuration.targetCondition}) AND tags.iotEdgeConnectorRolloutBucket < 30`,
      priority: configuration.priority + 1,
    };
    const operations = { ...hub.stats.operations };
    expect(await runHubAction({ kind: "retarget", configuration: stage }, connect)).toEqual({
      kind: "retarget",
      configurationId: configuration.id,
      targetCondition: stage.targetCondition,
      priority: stage.priority,
      outcome: "done",
    });
    expect(hub.stats.operations["addOrUpdateConfiguration"]).toBe(
      (operations["addOrUpdateConfiguration"] ?? 0) + 1,
    );
    expect(hub.stats.operations["getConfiguration"] ?? 0).toBe(operations["getConfiguration"] ?? 0);
    const client = createHubClient(hub.iotHubConnectionString);
    try {
      expect(await client.getConfiguration(configuration.id)).toMatchObject({
        targetCondition: stage.targetCondition,
        priority: stage.priority,
        content: configuration.content,
      });
    } finally {
      client.close();
    }
  });

  it("reports an update that changes the content as refused: the hub's content is immutable", async () => {
    const other = configurationOf("other");
    const changed = { ...other, id: configurationOf("web").id };
    const result = await runHubAction({ kind: "retarget", configuration: changed }, connect);
    expect(result).toMatchObject({ kind: "retarget", outcome: "refused" });
    expect(result).toHaveProperty("message", expect.stringContaining("content cannot be updated"));
  });

  it("reports a 429 as throttled with the hub's Retry-After, without retrying it", async () => {
    hub.faults.throttleNext(1, 9);
    const result = await runHubAction({ kind: "create", configuration: configurationOf("api") }, connect);
    expect(result).toMatchObject({ outcome: "throttled", retryAfterMs: 9_000 });
    expect(hub.stats.throttled.configurations).toBe(1);
  });

  it("reports content the hub refuses as refused with the hub's message", async () => {
    const configuration = { ...configurationOf("bad"), id: "Not A Valid Id" };
    const result = await runHubAction({ kind: "create", configuration }, connect);
    expect(result.outcome).toBe("refused");
    expect(result).toHaveProperty("message", expect.stringContaining("Not A Valid Id"));
  });

  it("reports a full hub as hubFull", async () => {
    for (let i = 0; i < 9; i++)
      await runHubAction({ kind: "create", configuration: configurationOf(`fill${i}`) }, connect);
    const result = await runHubAction(
      { kind: "create", configuration: configurationOf("one-too-many") },
      connect,
    );
    expect(result).toMatchObject({ outcome: "hubFull", message: expect.stringContaining("quota") });
  });

  it("deletes a configuration, and counts one already gone as deleted", async () => {
    const configurationId = configurationOf("web").id;
    const done = { kind: "delete", configurationId, outcome: "done" };
    expect(await runHubAction({ kind: "delete", configurationId }, connect)).toEqual(done);
    expect(await runHubAction({ kind: "delete", configurationId }, connect)).toEqual(done);
  });

  it("reports a hub it cannot reach as failed, naming the operation and not the key", async () => {
    const unreachable = connectorFor(hub.iotHubConnectionString.replace(hub.host, "127.0.0.254"));
    const result = await runHubAction({ kind: "inventory" }, unreachable);
    expect(result.outcome).toBe("failed");
    const key = /SharedAccessKey=([^;]+)/.exec(hub.iotHubConnectionString)![1]!;
    expect(JSON.stringify(result)).not.toContain(key);
  });
});
