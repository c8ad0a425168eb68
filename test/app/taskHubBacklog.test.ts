// The provider API takes no new pods while the app's Durable task hub is behind: the count of the
// task hub's visible queued messages (lib/app/taskHubBacklog.ts) against Azurite's queues, and a PUT through
// the local host answered 503 with Retry-After while the count is over TASK_HUB_BACKLOG_LIMIT.
// The backlog is made by a queue of the task hub's prefix that the host does not consume.
import { setTimeout as sleep } from "node:timers/promises";
import { QueueServiceClient } from "@azure/storage-queue";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { PEEK_MAX, TaskHubBacklog } from "../../lib/app/taskHubBacklog.js";
import type { ProviderError } from "../../lib/provider/providerContract.js";
import { BUSY_RETRY_AFTER_SECONDS } from "../../lib/provider/providerService.js";
import { podFixture } from "../provider/providerFixtures.js";
import { eventually } from "../support/testSimulator.js";
import { hub, node as NODE, startAppHarness, type AppHarness } from "./appHarness.js";

const LIMIT = 20;
/** host.json extensions.durableTask.hubName */
const TASK_HUB = "IotEdgeConnector";

describe("the task hub's backlog", { timeout: 120_000 }, () => {
  let harness: AppHarness;
  let queues: QueueServiceClient;

  beforeAll(async () => {
    harness = await startAppHarness({ env: { TASK_HUB_BACKLOG_LIMIT: String(LIMIT) } });
    queues = QueueServiceClient.fromConnectionString(harness.storageConnectionString);
  });

  afterAll(async () => {
    await harness?.stop();
  });

  const fill = async (queue: string, messages: number) => {
    const client = queues.getQueueClient(queue);
    await client.createIfNotExists();
    for (let i = 0; i < messages; i += 1) await client.sendMessage(`held ${i}`);
    return client;
  };

  it("counts the visible messages of one task hub's queues, not another's, one count serving a second", async () => {
    // a task hub the host does not run, so that nothing consumes its messages
    const control = await fill("backlogprobe-control", 3);
    await fill("backlogprobe-workitems", 2);
    await fill("backlogprobeother-control", 5);
    // a durable timer not yet due is a message not yet visible: it waits for its time, not for a worker
    await control.sendMessage("timer", { visibilityTimeout: 3_600 });
    const backlog = new TaskHubBacklog(queues);
    expect(await backlog.messages("BacklogProbe")).toBe(5);
    await fill("backlogprobe-control", 4);
    expect(await backlog.messages("BacklogProbe")).toBe(5); // the same count within its second
    await eventually(
      () => backlog.messages("BacklogProbe"),
      (count) => count === 9,
      { attempts: 40, intervalMs: 100 },
    );
    // a peek sees up to PEEK_MAX messages of a queue
    await fill("backlogprobe-workitems", PEEK_MAX);
    await eventually(
      () => backlog.messages("BacklogProbe"),
      (count) => count === 7 + PEEK_MAX,
      { attempts: 40, intervalMs: 100 },
    );
  });

  it("answers a PUT 503 with Retry-After while the task hub is over its limit, and takes it once it is not", async () => {
    const held = await fill(`${TASK_HUB.toLowerCase()}-held`, LIMIT + 1);
    const pod = podFixture({ name: "waits-for-backlog", uid: "uid-backlog" });
    // the host's first count of the backlog: this process has read none before
    const refused = await harness.call(
      `${hub}/namespaces/default/pods/waits-for-backlog`,
      { method: "PUT", body: JSON.stringify({ node: NODE, pod, resolved: { configMaps: {}, secrets: {} } }) },
      undefined,
      { honourRetryAfter: false },
    );
    expect(refused.status).toBe(503);
    expect(refused.headers.get("retry-after")).toBe(String(BUSY_RETRY_AFTER_SECONDS));
    const body = (await refused.json()) as ProviderError;
    expect(body.error.code).toBe("AppBusy");
    expect(body.error.message).toMatch(new RegExp(`messages waiting \\(limit ${LIMIT}\\)`));
    // nothing of the pod was kept: the app does not know it
    const status = await harness.call(`${hub}/namespaces/default/pods/waits-for-backlog/status`);
    expect(status.status).toBe(404);

    // a caller that honours Retry-After (the adapter, the tests' harness) is taken once the hub catches up
    const sent = performance.now();
    const taking = harness.putPod(pod);
    await sleep(1_000);
    await held.delete();
    expect((await taking).status).toBe(201);
    expect(performance.now() - sent).toBeGreaterThanOrEqual(BUSY_RETRY_AFTER_SECONDS * 1000);
    // deletes are always taken: they shorten the task hub's work
    await fill(`${TASK_HUB.toLowerCase()}-held`, LIMIT + 1);
    const deleted = await harness.call(`${hub}/namespaces/default/pods/waits-for-backlog?uid=uid-backlog`, {
      method: "DELETE",
    });
    expect(deleted.status).toBe(202);
  });
});
