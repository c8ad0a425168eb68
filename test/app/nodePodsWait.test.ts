// The long-poll of a node's pod statuses: the adapter's own provider client against the app's route
// on the local host. The changes are written straight to storage from this process, as another app
// instance would write them: the instance holding the wait has to notice them there.
import { setTimeout } from "node:timers/promises";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createAdapterMetrics } from "../../lib/adapter/metrics.js";
import { ProviderClient } from "../../lib/adapter/providerClient.js";
import { PodRecords } from "../../lib/provider/podRecords.js";
import { nodePodsWait, type ProviderError } from "../../lib/provider/providerContract.js";
import { StatusStore } from "../../lib/status/statusStore.js";
import { cluster, hub, keyOf, startAppHarness, type AppHarness } from "./appHarness.js";

const NODE = "other-node";
/** long enough that an answer before it is the change's doing, not the wait's end */
const LONG_WAIT_SECONDS = 30;
/** lets the app's first read of the list happen before the change is written */
const SETTLE_MS = 1_500;

describe("node pod statuses held until they change", { timeout: 120_000 }, () => {
  let harness: AppHarness;
  let client: ProviderClient;
  let records: PodRecords;
  let store: StatusStore;
  const metrics = createAdapterMetrics();
  /** the provider calls the client made (its latency histogram counts each) */
  const requests = async () =>
    (await metrics.providerLatency.get()).values
      .filter((value) => value.metricName?.endsWith("_count"))
      .reduce((sum, value) => sum + value.value, 0);

  const pod = (name: string) => ({
    hub,
    node: NODE,
    cluster,
    namespace: "default",
    name,
    uid: `uid-${name}`,
    lifecycle: {
      stage: "Scheduled" as const,
      configurationId: `cfg-${name}`,
      configuration: { phase: "OnHub" as const },
    },
    configurationId: `cfg-${name}`,
    containers: [{ name: "sensor", image: "sensor:1" }],
    specHash: "spec",
  });

  beforeAll(async () => {
    harness = await startAppHarness();
    records = PodRecords.fromConnectionString(harness.storageConnectionString);
    store = StatusStore.fromConnectionString(harness.storageConnectionString);
    client = new ProviderClient({
      baseUrl: `${harness.host().url}/api`,
      functionKey: keyOf(NODE),
      hubName: hub,
      nodeName: NODE,
      metrics,
    });
  });

  afterAll(async () => {
    await harness?.stop();
  });

  it("answers 304 once the wait ends with nothing changed, and says that it waits", async () => {
    const first = await client.watchPodStatuses(undefined, 0);
    expect(first.waited).toBe(true);
    const unchanged = await client.watchPodStatuses(first.list?.version, 1);
    expect(unchanged).toEqual({ waited: true });
  });

  it("answers as soon as another instance stores a new pod of the node, in the one request", async () => {
    const { list: before } = await client.watchPodStatuses(undefined, 0);
    const requestsBefore = await requests();
    const watching = client.watchPodStatuses(before?.version, LONG_WAIT_SECONDS);
    await setTimeout(SETTLE_MS);
    await records.createIfAbsent(pod("added"), new Date());
    const { list } = await watching;
    expect(list?.pods.map((p) => p.name)).toContain("added");
    expect((await requests()) - requestsBefore).toBe(1);
  });

  it("answers as soon as another instance stores a fleet status of a configuration the node's pods use", async () => {
    const { list: before } = await client.watchPodStatuses(undefined, 0);
    expect(before?.pods.find((p) => p.name === "added")?.fleet.applied).toBe(0);
    const watching = client.watchPodStatuses(before?.version, LONG_WAIT_SECONDS);
    await setTimeout(SETTLE_MS);
    const counts = { targeted: 1, applied: 1, running: 1, failed: 0, offline: 0 };
    await store.writePartitionRow(
      hub,
      {
        partitionId: "another-instance",
        serial: 1,
        fillId: "none",
        journal: [],
        devices: { total: 1, connected: 1 },
        statuses: {
          "cfg-added": {
            configurationId: "cfg-added",
            counts,
            modules: {},
            failures: [],
            computedAt: new Date().toISOString(),
            source: "events",
            version: 1,
          },
        },
      },
      undefined,
    );
    const { list } = await watching;
    expect(list?.pods.find((p) => p.name === "added")?.fleet).toEqual(counts);
  });

  it(`refuses a wait over ${nodePodsWait.maxSeconds} s with 400 naming the query parameter`, async () => {
    const response = await harness.call(
      `${hub}/nodes/${NODE}/pods?wait=${nodePodsWait.maxSeconds + 1}`,
      {},
      keyOf(NODE),
    );
    expect(response.status).toBe(400);
    expect(((await response.json()) as ProviderError).error.field).toBe("wait");
  });
});
