// The provider client against the contract stand-in (test/adapter/support/contractProvider.ts),
// over real HTTP.
import type { V1Pod } from "@kubernetes/client-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createAdapterMetrics } from "../../lib/adapter/metrics.js";
import { ProviderCallError } from "../../lib/adapter/podProvider.js";
import { ProviderClient } from "../../lib/adapter/providerClient.js";
import { freePort } from "../../dev/cluster/network.js";
import { ContractProvider } from "./support/contractProvider.js";

const KEY = "function-key-for-test";
const pod: V1Pod = {
  metadata: { namespace: "default", name: "sensor-1", uid: "uid-1" },
  spec: { containers: [{ name: "sensor", image: "sensor:1" }] },
};

describe("ProviderClient", () => {
  let provider: ContractProvider;
  let client: ProviderClient;
  const metrics = createAdapterMetrics();

  beforeAll(async () => {
    provider = await ContractProvider.start(KEY);
    client = new ProviderClient({
      baseUrl: provider.baseUrl,
      functionKey: KEY,
      hubName: "hub1",
      nodeName: "vk-1",
      metrics,
    });
  });
  afterAll(() => provider.stop());

  it("puts a pod with the node and what it resolved, on the contract's route", async () => {
    await client.putPod(pod, { configMaps: { routes: { data: { a: "b" } } }, secrets: {} });
    const [call] = provider.callsTo("pod", "PUT");
    expect(call?.params).toEqual({ hub: "hub1", namespace: "default", name: "sensor-1" });
    expect(call?.body).toMatchObject({
      node: "vk-1",
      pod: { metadata: { uid: "uid-1" } },
      resolved: { configMaps: { routes: { data: { a: "b" } } } },
    });
  });

  it("lists the node's pod statuses, and gets nothing back for an unchanged ETag", async () => {
    const list = await client.listPodStatuses();
    expect(list?.pods.map((p) => p.uid)).toEqual(["uid-1"]);
    expect(await client.listPodStatuses(list?.version)).toBeUndefined();
    expect(provider.callsTo("nodePods").at(-1)?.status).toBe(304);
  });

  it("says when the provider answered a long-poll at once without waiting (an older app): the writer then polls", async () => {
    provider.waits = false;
    try {
      const list = await client.listPodStatuses();
      expect(await client.watchPodStatuses(list?.version, 50)).toEqual({ waited: false });
    } finally {
      provider.waits = true;
    }
  });

  it("long-polls: an unchanged list is held until a pod changes, then the new list comes at once", async () => {
    const list = await client.listPodStatuses();
    const watched = client.watchPodStatuses(list?.version, 50);
    // the request has arrived and is held: no answer yet
    await expect.poll(() => provider.callsTo("nodePods").at(-1)?.query.get("wait")).toBe("50");
    expect(provider.callsTo("nodePods").at(-1)?.status).toBe(0);
    const second = { ...pod, metadata: { namespace: "default", name: "sensor-2", uid: "uid-2" } };
    await client.putPod(second, { configMaps: {}, secrets: {} });
    const answer = await watched;
    expect(answer.waited).toBe(true);
    expect(answer.list?.pods.map((p) => p.uid)).toEqual(["uid-1", "uid-2"]);
    expect(answer.list?.version).not.toBe(list?.version);
  });

  it("long-polls: an unchanged list is a 304 once the wait ends", async () => {
    const list = await client.listPodStatuses();
    expect(await client.watchPodStatuses(list?.version, 1)).toEqual({ waited: true });
    expect(provider.callsTo("nodePods").at(-1)?.status).toBe(304);
  });

  it("refuses a wait longer than the app allows, naming the query parameter", async () => {
    const error = await client.watchPodStatuses(undefined, 61).catch((caught: unknown) => caught);
    expect(error).toMatchObject({ status: 400, field: "wait", permanent: true });
  });

  it("turns a refusal into a permanent error naming the field", async () => {
    const bad = {
      ...pod,
      spec: { ...pod.spec, containers: pod.spec?.containers ?? [], initContainers: [{ name: "init" }] },
    };
    const error = await client
      .putPod(bad, { configMaps: {}, secrets: {} })
      .catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(ProviderCallError);
    expect(error).toMatchObject({ status: 400, field: "spec.initContainers", permanent: true });
    expect((error as Error).message).toBe("provider pod: HTTP 400: IoT Edge has no init containers");
  });

  it("reads a busy app's Retry-After into the error, retryable", async () => {
    provider.busyPuts = 1;
    provider.busyRetryAfterSeconds = 7;
    const error = await client
      .putPod(pod, { configMaps: {}, secrets: {} })
      .catch((caught: unknown) => caught);
    expect(error).toMatchObject({ status: 503, retryAfterMs: 7_000, permanent: false });
    expect(ProviderCallError.retryAfterMs(new Error("sending pod", { cause: error }))).toBe(7_000);
    await client.putPod(pod, { configMaps: {}, secrets: {} });
  });

  it("deletes with the uid and answers undefined once the provider no longer has the pod", async () => {
    await client.deletePod("default", "sensor-1", "uid-1");
    expect(provider.callsTo("pod", "DELETE")[0]?.query.get("uid")).toBe("uid-1");
    await expect.poll(() => client.getPodStatus("default", "sensor-1")).toBeUndefined();
  });

  it("reports a wrong key as a permanent 401 and never puts the key in the message", async () => {
    const wrong = new ProviderClient({
      baseUrl: provider.baseUrl,
      functionKey: "wrong-key-123",
      hubName: "hub1",
      nodeName: "vk-1",
    });
    const error = await wrong.nodeConditions().catch((caught: unknown) => caught);
    expect(error).toMatchObject({ status: 401, permanent: true });
    expect((error as Error).message).not.toContain("wrong-key-123");
  });

  it("reports an unreachable provider as status 0, retryable, without the URL or key", async () => {
    const closedPort = await freePort(); // free: nobody listens there
    const down = new ProviderClient({
      baseUrl: `http://127.0.0.1:${closedPort}/api`,
      functionKey: KEY,
      hubName: "hub1",
      nodeName: "vk-1",
    });
    const error = await down.nodeConditions().catch((caught: unknown) => caught);
    expect(error).toMatchObject({ status: 0, permanent: false });
    expect((error as Error).message).toBe("provider nodeConditions: unreachable: ECONNREFUSED");
  });

  it("times each call by route in the latency histogram", async () => {
    const histogram = await metrics.providerLatency.get();
    const routes = new Set(
      histogram.values.filter((v) => v.metricName?.endsWith("_count")).map((v) => v.labels.route),
    );
    expect([...routes].sort()).toEqual(["nodePods", "pod", "podStatus"]);
  });
});
