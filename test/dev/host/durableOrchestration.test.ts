import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { QueueServiceClient } from "@azure/storage-queue";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { EntityMessage } from "../../../dev/host/durable/durableMessages.js";
import { newInstanceRecord } from "../../../dev/host/durable/orchestrationInstance.js";
import { TaskHubStorage } from "../../../dev/host/durable/taskHubStorage.js";
import { startLocalAzurite, type LocalAzurite } from "../../../dev/localAzurite.js";
import { startHostProcess, type HostProcess } from "../../../dev/host/hostProcess.js";

interface Status {
  runtimeStatus: string;
  customStatus: unknown;
  output: unknown;
  input: unknown;
}

const masterKey = "durable-fixture-master-key";

// Orchestrations cross several queues and processes; on a loaded CI machine that takes a while.
describe("local host durable extension", { timeout: 90_000 }, () => {
  let azurite: LocalAzurite;
  let workDir: string;
  let settingsFile: string;
  let invocationsFile: string;
  const hosts: HostProcess[] = [];

  async function startHost(): Promise<HostProcess> {
    const host = await startHostProcess({ settingsFile, env: { LOCAL_HOST_MASTER_KEY: masterKey } });
    hosts.push(host);
    return host;
  }

  async function status(host: HostProcess, instanceId: string): Promise<Status> {
    const response = await fetch(`${host.url}/api/orders/${instanceId}`);
    expect(response.status).toBe(200);
    return (await response.json()) as Status;
  }

  async function waitForStatus(
    host: HostProcess,
    instanceId: string,
    done: (s: Status) => boolean,
  ): Promise<Status> {
    let last: Status | undefined;
    for (let attempt = 0; attempt < 400; attempt++) {
      last = await status(host, instanceId);
      if (done(last)) return last;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    throw new Error(`instance ${instanceId} stayed at ${JSON.stringify(last)}`);
  }

  function invocations(name: string): number {
    return readFileSync(invocationsFile, "utf8")
      .split("\n")
      .filter((line) => line === name).length;
  }

  async function startOrder(host: HostProcess, orchestrator: string, instanceId: string, order: unknown) {
    return fetch(`${host.url}/api/orders/${orchestrator}/${instanceId}`, {
      method: "POST",
      body: JSON.stringify(order),
    });
  }

  beforeAll(async () => {
    azurite = await startLocalAzurite();
    workDir = mkdtempSync(path.join(tmpdir(), "local-host-durable-"));
    settingsFile = path.join(workDir, "local.settings.json");
    invocationsFile = path.join(workDir, "invocations.txt");
    writeFileSync(invocationsFile, "");
    writeFileSync(
      settingsFile,
      JSON.stringify({
        IsEncrypted: false,
        Values: {
          AzureWebJobsStorage: azurite.connectionString,
          FIXTURE_INVOCATIONS_FILE: invocationsFile,
          // The whole fixture app is loaded (package.json main), its timer included: once a year.
          FIXTURE_TICK_SCHEDULE: "0 0 0 1 1 *",
          FIXTURE_TICKS_FILE: path.join(workDir, "ticks.txt"),
        },
      }),
    );
  });

  afterAll(async () => {
    for (const host of hosts) await host.stop();
    await azurite?.stop();
    if (workDir) rmSync(workDir, { recursive: true, force: true });
  });

  it("runs an orchestration through activities, a retry, a timer, an external event and an entity", async () => {
    const host = await startHost();
    const started = await startOrder(host, "processOrder", "order-1", { item: "sensor", amount: 5 });
    expect(started.status).toBe(202);
    const links = (await started.json()) as { id: string; statusQueryGetUri: string };
    expect(links.id).toBe("order-1");

    await waitForStatus(host, "order-1", (s) => s.customStatus === "waiting for approval");
    const viaWebhook = await fetch(links.statusQueryGetUri);
    expect(viaWebhook.status).toBe(202);
    expect(((await viaWebhook.json()) as Status).runtimeStatus).toBe("Running");

    expect(
      (await fetch(`${host.url}/api/orders/order-1/approve`, { method: "POST", body: '{"by":"ops"}' }))
        .status,
    ).toBe(202);
    const done = await waitForStatus(host, "order-1", (s) => s.runtimeStatus !== "Running");
    expect(done).toMatchObject({
      runtimeStatus: "Completed",
      customStatus: "done",
      input: { item: "sensor", amount: 5 },
      output: { prepared: "prepared sensor", charged: { charged: 5 }, approval: { by: "ops" }, total: 5 },
    });
    expect(invocations("prepareShipment")).toBe(1);
    expect(invocations("chargeCard")).toBe(2);

    const counter = await fetch(`${host.url}/api/counters/orders`);
    expect(await counter.json()).toBe(5);
    expect((await fetch(`${host.url}/api/counters/nobody`)).status).toBe(404);
  });

  it("protects the status webhooks with a key derived from the master key, never the master key itself", async () => {
    const host = hosts[0]!;
    const started = await startOrder(host, "rejectOrder", "order-webhook", { item: "lamp", amount: 1 });
    const links = (await started.json()) as Record<string, string>;
    expect(JSON.stringify(links)).not.toContain(masterKey);
    expect(links.statusQueryGetUri).toMatch(/[?&]code=/);
    const withoutKey = new URL(links.statusQueryGetUri!);
    withoutKey.searchParams.delete("code");
    expect((await fetch(withoutKey)).status).toBe(401);
  });

  it("reports a failing orchestrator as Failed with its error message", async () => {
    const host = hosts[0]!;
    await startOrder(host, "rejectOrder", "order-refused", { item: "lamp", amount: 1 });
    const failed = await waitForStatus(
      host,
      "order-refused",
      (s) => s.runtimeStatus !== "Running" && s.runtimeStatus !== "Pending",
    );
    expect(failed.runtimeStatus).toBe("Failed");
    expect(failed.output).toContain("orders from this customer are refused");
  });

  it("refuses to start an orchestrator that does not exist, naming it", async () => {
    const host = hosts[0]!;
    const response = await startOrder(host, "noSuchOrchestrator", "order-x", {});
    expect(response.status).toBe(500);
    const log = await host.waitForLine("noSuchOrchestrator");
    expect(log).toContain("is not an orchestrator function");
  });

  it("continues as new, runs a sub-orchestration and fans out activities with Task.all", async () => {
    const host = hosts[0]!;
    const before = invocations("prepareShipment");
    await startOrder(host, "countdown", "countdown-1", 2);
    const done = await waitForStatus(host, "countdown-1", (s) => s.runtimeStatus === "Completed");
    expect(done.output).toEqual(["prepared valve", "prepared pump"]);
    expect(done.input).toBe(0);
    expect(invocations("prepareShipment") - before).toBe(2);
  });

  it("carries activity inputs and results larger than a queue message", async () => {
    const host = hosts[0]!;
    await startOrder(host, "largePayload", "large-1", 200_000);
    const done = await waitForStatus(
      host,
      "large-1",
      (s) => s.runtimeStatus !== "Running" && s.runtimeStatus !== "Pending",
    );
    expect(done).toMatchObject({ runtimeStatus: "Completed", output: { length: 200_000, echoed: 200_000 } });
  });

  it("lists instances by runtime status through the webhooks, with the master key", async () => {
    const host = hosts[0]!;
    const base = `${host.url}/runtime/webhooks/durabletask/instances`;
    const completed = await fetch(`${base}?runtimeStatus=Completed&code=${masterKey}`);
    expect(completed.status).toBe(200);
    const statuses = (await completed.json()) as { instanceId: string; runtimeStatus: string }[];
    expect(statuses.map((s) => s.instanceId)).toContain("order-1");
    expect(new Set(statuses.map((s) => s.runtimeStatus))).toEqual(new Set(["Completed"]));
    const invalid = await fetch(`${base}?runtimeStatus=Sleeping&code=${masterKey}`);
    expect(invalid.status).toBe(400);
    expect(await invalid.json()).toEqual({
      message:
        'query parameter runtimeStatus: "Sleeping" is not one of Pending, Running, Completed, Failed, Terminated',
    });
  });

  it("terminates a waiting instance, signals an entity, and purges the instance through the webhooks", async () => {
    const host = hosts[0]!;
    const started = await startOrder(host, "waitForever", "forever-1", null);
    const links = (await started.json()) as Record<string, string>;
    await waitForStatus(host, "forever-1", (s) => s.runtimeStatus === "Running");
    const terminate = links.terminatePostUri!.replace("{text}", "operator%20stop");
    expect((await fetch(terminate, { method: "POST" })).status).toBe(202);
    const terminated = await waitForStatus(host, "forever-1", (s) => s.runtimeStatus === "Terminated");
    expect(terminated.output).toBe("operator stop");
    expect((await fetch(terminate, { method: "POST" })).status).toBe(410);

    let counter = await fetch(`${host.url}/api/counters/signals`);
    for (let attempt = 0; attempt < 100 && counter.status === 404; attempt++) {
      await new Promise((resolve) => setTimeout(resolve, 100));
      counter = await fetch(`${host.url}/api/counters/signals`);
    }
    expect(await counter.json()).toBe(2);

    expect((await fetch(links.purgeHistoryDeleteUri!, { method: "DELETE" })).status).toBe(200);
    expect((await fetch(links.statusQueryGetUri!)).status).toBe(404);
  });
  it("purges the history of finished instances by filter through the durable client, leaving running ones and entities", async () => {
    const host = hosts[0]!;
    await startOrder(host, "waitForever", "still-running", null);
    await waitForStatus(host, "still-running", (s) => s.runtimeStatus === "Running");
    const instance = (id: string) =>
      fetch(`${host.url}/runtime/webhooks/durabletask/instances/${id}?code=${masterKey}`);
    expect((await instance("order-1")).status).toBe(200);
    const purge = () => fetch(`${host.url}/api/orders/finished`, { method: "DELETE" });
    const purged = (await (await purge()).json()) as { instancesDeleted: number };
    // order-1, order-webhook and order-refused (Failed), countdown-1 and its sub-orchestration, large-1, ...
    expect(purged.instancesDeleted).toBeGreaterThanOrEqual(5);
    for (const id of ["order-1", "order-refused", "countdown-1", "large-1"])
      expect((await instance(id)).status).toBe(404);
    expect((await instance("still-running")).status).toBe(202);
    // nothing left to purge: the extension answers 404, which the client reports as none deleted
    expect(await (await purge()).json()).toEqual({ instancesDeleted: 0 });
    expect(await (await fetch(`${host.url}/api/counters/orders`)).json()).toBe(5);
  });

  it("deletes an unreadable queue message with an error log instead of letting it block the queue", async () => {
    const host = hosts[0]!;
    const control = QueueServiceClient.fromConnectionString(azurite.connectionString).getQueueClient(
      "fixturehub-control",
    );
    await control.sendMessage("this is not a durable message");
    await startOrder(host, "shipAll", "after-garbage", ["filter"]);
    const done = await waitForStatus(host, "after-garbage", (s) => s.runtimeStatus === "Completed");
    expect(done.output).toEqual(["prepared filter"]);
    const line = await host.waitForLine("unreadable messages deleted from the queue");
    expect(line).toContain('"queue":"control"');
  });

  it("resumes after a restart from the stored history without running finished activities again", async () => {
    // Only one host at a time on the task hub: the one the other tests used goes first.
    await hosts[0]!.stop();
    const before = { prepare: invocations("prepareShipment"), charge: invocations("chargeCard") };
    const first = await startHost();
    await startOrder(first, "processOrder", "order-2", { item: "gateway", amount: 7 });
    await waitForStatus(first, "order-2", (s) => s.customStatus === "waiting for approval");
    await first.stop("SIGKILL");

    const second = await startHost();
    expect((await status(second, "order-2")).runtimeStatus).toBe("Running");
    await fetch(`${second.url}/api/orders/order-2/approve`, { method: "POST", body: '{"by":"night shift"}' });
    const done = await waitForStatus(second, "order-2", (s) => s.runtimeStatus !== "Running");
    expect(done).toMatchObject({
      runtimeStatus: "Completed",
      output: {
        prepared: "prepared gateway",
        charged: { charged: 7 },
        approval: { by: "night shift" },
        total: 12,
      },
    });
    expect(invocations("prepareShipment") - before.prepare).toBe(1);
    expect(invocations("chargeCard") - before.charge).toBe(1);
    await second.stop();
  });

  it("starts at startup an instance whose record was saved but whose start message was lost", async () => {
    // What a host that stopped between saving a new instance and queueing its start leaves behind.
    const storage = new TaskHubStorage(azurite.connectionString, "FixtureHub");
    const record = newInstanceRecord({
      instanceId: "lost-start",
      name: "shipAll",
      executionId: "execution-1",
      input: JSON.stringify(["hose"]),
    });
    await storage.write("instances", record.instanceId, record, undefined);
    const host = await startHost();
    const done = await waitForStatus(host, "lost-start", (s) => s.runtimeStatus === "Completed");
    expect(done.output).toEqual(["prepared hose"]);
  });

  it("applies the operations waiting for one entity as one batch, a redelivered one once", async () => {
    // Queued while no host runs, so they all wait when the next host starts.
    for (const running of hosts) await running.stop();
    const storage = new TaskHubStorage(azurite.connectionString, "FixtureHub");
    const add = (requestId: string): EntityMessage => ({
      entity: "@counter@batched",
      operation: "add",
      input: "1",
      requestId,
      signal: true,
    });
    await storage.createIfMissing();
    for (let index = 0; index < 20; index++) await storage.send("entities", add(`add-${index}`));
    await storage.send("entities", add("add-0"));
    const host = await startHost();
    const count = async () => {
      const counter = await fetch(`${host.url}/api/counters/batched`);
      return counter.status === 404 ? 0 : ((await counter.json()) as number);
    };
    let total = await count();
    for (let attempt = 0; attempt < 200 && total < 20; attempt++) {
      await new Promise((resolve) => setTimeout(resolve, 100));
      total = await count();
    }
    expect(total).toBe(20);
    const batches = new Set(
      readFileSync(invocationsFile, "utf8")
        .split("\n")
        .filter((line) => line.startsWith("counter batch ")),
    );
    expect(batches.size).toBe(1);
  });
});
