// The node's Lease when someone else writes it between the adapter's read and its write: a second
// adapter for the same node (an overlapping restart, an operator's mistake) renews it, and the
// apiserver answers 409 to the stale resourceVersion. Against the in-memory apiserver through the
// real client; the rival's write is the only thing added, right after the adapter's read.
import { CoordinationV1Api, CoreV1Api, V1MicroTime, type V1Lease } from "@kubernetes/client-node";
import { pino } from "pino";
import { afterEach, beforeEach, expect, it } from "vitest";
import { createAdapterMetrics } from "../../lib/adapter/metrics.js";
import { NodeController } from "../../lib/adapter/nodeController.js";
import { EventRecorder } from "../../lib/adapter/podEvents.js";
import { ProviderClient } from "../../lib/adapter/providerClient.js";
import { ContractProvider } from "./support/contractProvider.js";
import { controllerConfig } from "./support/controllerConfig.js";
import { FakeCluster } from "./support/fakeCluster.js";

const NODE = "vk-lease";
const FUNCTION_KEY = "test-function-key-not-a-secret";

let cluster: FakeCluster;
let provider: ContractProvider;

beforeEach(async () => {
  cluster = await FakeCluster.start();
  provider = await ContractProvider.start(FUNCTION_KEY);
});

afterEach(async () => {
  await provider.stop();
  await cluster.stop();
});

it("starts, and keeps its lease, when another writer renews the lease between its read and its write", async () => {
  const target = { node: NODE, hub: "hub1", providerUrl: provider.baseUrl, functionKey: FUNCTION_KEY };
  const config = controllerConfig(target, ["--lease-interval-ms=60000", "--node-status-interval-ms=60000"]);
  const kubeConfig = cluster.kubeConfig();
  const rival = kubeConfig.makeApiClient(CoordinationV1Api);
  const lease: V1Lease = {
    metadata: { name: NODE, namespace: "kube-node-lease" },
    spec: { holderIdentity: NODE, leaseDurationSeconds: 40, renewTime: new V1MicroTime() },
  };
  await rival.createNamespacedLease({ namespace: "kube-node-lease", body: lease });

  // The adapter's own client, with the rival renewing right after each of the adapter's first reads.
  const coordination = kubeConfig.makeApiClient(CoordinationV1Api);
  const read = coordination.readNamespacedLease.bind(coordination);
  let racedReads = 0;
  coordination.readNamespacedLease = async (request) => {
    const found = await read(request);
    if (racedReads++ < 1) {
      const current = await rival.readNamespacedLease(request);
      await rival.replaceNamespacedLease({
        ...request,
        body: { ...current, spec: { ...current.spec, renewTime: new V1MicroTime() } },
      });
    }
    return found;
  };

  const metrics = createAdapterMetrics();
  const logger = pino({ level: "silent" });
  const core = kubeConfig.makeApiClient(CoreV1Api);
  const nodes = new NodeController({
    config,
    core,
    coordination,
    provider: new ProviderClient({
      baseUrl: config.providerUrl,
      functionKey: config.functionKey,
      hubName: config.hubName,
      nodeName: config.nodeName,
      metrics,
    }),
    events: new EventRecorder(core, config, logger),
    logger,
    metrics,
  });
  await nodes.start();
  nodes.stop();

  expect(racedReads).toBeGreaterThanOrEqual(2); // it lost the first race and read again
  const leaseWrites = cluster.requests.filter(
    (r) =>
      r.method === "PUT" &&
      r.path === `/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases/${NODE}`,
  );
  // the rival's write, the adapter's refused one, and the adapter's second one
  expect(leaseWrites).toHaveLength(3);
  const renewed = await rival.readNamespacedLease({ name: NODE, namespace: "kube-node-lease" });
  expect(renewed.spec?.holderIdentity).toBe(NODE);
  expect((await metrics.errors.get()).values).toEqual([]); // no lease error counted
});
