// The adapter's controllers through a pod's life, in the manner of virtual-kubelet's
// node/lifecycle_test.go, in seconds and without a control plane: the pod, node and status
// controllers wired as startAdapter wires them (without the kubelet and ops servers), against an
// in-memory apiserver (support/fakeCluster.ts) through the real client and informer, and the
// contract stand-in provider through the real provider client. Short intervals come from the
// adapter's own config and the pod controller's options.
import {
  AppsV1Api,
  CoordinationV1Api,
  CoreV1Api,
  PatchStrategy,
  setHeaderOptions,
  type CoreV1Event,
  type V1Node,
  type V1Pod,
  type V1PodCondition,
  type V1ReplicaSet,
} from "@kubernetes/client-node";
import { pino } from "pino";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { createAdapterMetrics, type AdapterMetrics } from "../../lib/adapter/metrics.js";
import { NodeController } from "../../lib/adapter/nodeController.js";
import { PodController } from "../../lib/adapter/podController.js";
import { EventRecorder } from "../../lib/adapter/podEvents.js";
import { PodStatusWriter } from "../../lib/adapter/podStatusWriter.js";
import { ProviderClient } from "../../lib/adapter/providerClient.js";
import type { PutPodRequest } from "../../lib/provider/providerContract.js";
import { ContractProvider, type ProviderCall } from "./support/contractProvider.js";
import { controllerConfig } from "./support/controllerConfig.js";
import { eventually } from "./support/eventually.js";
import { FakeCluster } from "./support/fakeCluster.js";

const NODE = "vk-lifecycle";
const HUB = "hub1";
const NAMESPACE = "default";
const FUNCTION_KEY = "test-function-key-not-a-secret";
const RETRY_DELAY_MS = 50;
const MAX_RETRY_DELAY_MS = 400;
const mergePatch = setHeaderOptions("Content-Type", PatchStrategy.MergePatch);
/** quick polls: everything here happens within a few hundred milliseconds */
const soon = { attempts: 100, intervalMs: 50 };

interface LogLine {
  msg: string;
  pod?: string;
  attempt?: number;
  retryInMs?: number;
}

let cluster: FakeCluster;
let provider: ContractProvider;
/** the test's own client, as kubectl would be */
let core: CoreV1Api;
let apps: AppsV1Api;
let adapter: Awaited<ReturnType<typeof startControllers>> | undefined;

/** The node, pod and status controllers as startAdapter wires them, with short intervals. */
async function startControllers(
  options: {
    workers?: number;
    writeStatuses?: boolean;
    reconcileIntervalMs?: number;
    staleStatusAfterMs?: number;
  } = {},
) {
  const target = { node: NODE, hub: HUB, providerUrl: provider.baseUrl, functionKey: FUNCTION_KEY };
  const config = controllerConfig(target, [
    "--status-interval-ms=100",
    "--node-status-interval-ms=100",
    "--lease-interval-ms=100",
  ]);
  const logs: LogLine[] = [];
  const logger = pino({ level: "debug" }, { write: (line: string) => logs.push(JSON.parse(line)) });
  const kubeConfig = cluster.kubeConfig();
  const adapterCore = kubeConfig.makeApiClient(CoreV1Api);
  const coordination = kubeConfig.makeApiClient(CoordinationV1Api);
  const metrics: AdapterMetrics = createAdapterMetrics();
  const podProvider = new ProviderClient({
    baseUrl: config.providerUrl,
    functionKey: config.functionKey,
    hubName: config.hubName,
    nodeName: config.nodeName,
    metrics,
  });
  const events = new EventRecorder(adapterCore, config, logger);
  const nodes = new NodeController({
    config,
    core: adapterCore,
    coordination,
    provider: podProvider,
    events,
    logger,
    metrics,
  });
  const pods = new PodController({
    nodeName: config.nodeName,
    kubeConfig,
    core: adapterCore,
    provider: podProvider,
    events,
    logger,
    metrics,
    workers: options.workers,
    retryDelayMs: RETRY_DELAY_MS,
    maxRetryDelayMs: MAX_RETRY_DELAY_MS,
    deletePollMs: 50,
    reconcileIntervalMs: options.reconcileIntervalMs ?? 0,
    notReadyBeforeStart: () => nodes.notReadyBeforeStart,
  });
  const statuses = new PodStatusWriter({
    provider: podProvider,
    core: adapterCore,
    events,
    getPod: (namespace, name) => pods.getPod(namespace, name),
    nodeAddress: config.nodeAddress,
    intervalMs: config.statusIntervalMs,
    ...(options.staleStatusAfterMs !== undefined && { staleAfterMs: options.staleStatusAfterMs }),
    logger,
    metrics,
  });
  await nodes.start();
  await pods.start();
  if (options.writeStatuses ?? true) statuses.start();
  return {
    pods,
    logs,
    /** one unlabelled metric's value, as the ops endpoint would show it */
    async metricValue(name: string) {
      return (await metrics.registry.getSingleMetric(name)?.get())?.values[0]?.value;
    },
    async stop() {
      const statusesStopped = statuses.stop();
      nodes.stop();
      await pods.stop(2_000);
      await statusesStopped;
    },
  };
}

function createPod(
  name: string,
  {
    nodeName = NODE,
    image = "sensor:1",
    owner,
    annotations,
  }: {
    nodeName?: string;
    image?: string;
    owner?: V1ReplicaSet;
    annotations?: Record<string, string>;
  } = {},
): Promise<V1Pod> {
  const ownerReferences = owner && [
    {
      apiVersion: "apps/v1",
      kind: "ReplicaSet",
      name: owner.metadata?.name ?? "",
      uid: owner.metadata?.uid ?? "",
      controller: true,
    },
  ];
  return core.createNamespacedPod({
    namespace: NAMESPACE,
    body: {
      metadata: { name, ownerReferences, annotations, labels: owner?.spec?.template?.metadata?.labels },
      spec: { nodeName, containers: [{ name: "sensor", image }] },
    },
  });
}

function createReplicaSet(name: string, replicas: number): Promise<V1ReplicaSet> {
  const labels = { app: name };
  return apps.createNamespacedReplicaSet({
    namespace: NAMESPACE,
    body: {
      metadata: { name },
      spec: { replicas, selector: { matchLabels: labels }, template: { metadata: { labels } } },
    },
  });
}

/** A Deployment at a revision, as its controller annotates it. */
function createDeployment(name: string, replicas: number, revision: string) {
  const labels = { app: name };
  return apps.createNamespacedDeployment({
    namespace: NAMESPACE,
    body: {
      metadata: { name, annotations: { "deployment.kubernetes.io/revision": revision } },
      spec: { replicas, selector: { matchLabels: labels }, template: { metadata: { labels } } },
    },
  });
}

/** One of the Deployment's ReplicaSets, `<deployment>-<hash>` as its controller names them. */
function createDeploymentReplicaSet(
  deployment: { metadata?: { name?: string; uid?: string } },
  hash: string,
  replicas: number,
  revision: string,
): Promise<V1ReplicaSet> {
  const name = deployment.metadata?.name ?? "";
  const labels = { app: name, "pod-template-hash": hash };
  const controller = { apiVersion: "apps/v1", kind: "Deployment", controller: true };
  return apps.createNamespacedReplicaSet({
    namespace: NAMESPACE,
    body: {
      metadata: {
        name: `${name}-${hash}`,
        annotations: { "deployment.kubernetes.io/revision": revision },
        ownerReferences: [{ ...controller, name, uid: deployment.metadata?.uid ?? "" }],
      },
      spec: { replicas, selector: { matchLabels: labels }, template: { metadata: { labels } } },
    },
  });
}

const scaleReplicaSet = (name: string, replicas: number) =>
  apps.patchNamespacedReplicaSet({ name, namespace: NAMESPACE, body: { spec: { replicas } } }, mergePatch);

/**
 * Deployment "sensor" (4 replicas) mid-rollout: 2 replicas of its old ReplicaSet (old1) here and the
 * first of its new one (`sensor-<hash>-a`), sent with the first stage, 25 %.
 */
async function rolloutAtFirstStage(hash: string) {
  const deployment = await createDeployment("sensor", 4, "2");
  const old = await createDeploymentReplicaSet(deployment, "old1", 4, "1");
  await Promise.all(["sensor-old1-a", "sensor-old1-b"].map((name) => createPod(name, { owner: old })));
  const updated = await createDeploymentReplicaSet(deployment, hash, 1, "2");
  await createPod(`sensor-${hash}-a`, { owner: updated });
  await eventually(() => expect(sentStage(`sensor-${hash}-a`)).toEqual({ percent: 25 }), soon);
  return { old, updated };
}

/** The rollout stage of a pod's last PUT (undefined: all its devices). */
const sentStage = (name: string) => (putsOf(name).at(-1)?.body as PutPodRequest | undefined)?.rollout;

/**
 * What the taint manager does to a pod on a node that stopped answering: marks it, then deletes it.
 * (Tests that evict write no statuses: the status writer keeps DisruptionTarget only once its cache
 * has it, statusMapping.test.ts.)
 */
async function evict(name: string): Promise<void> {
  await core.patchNamespacedPodStatus(
    {
      name,
      namespace: NAMESPACE,
      body: {
        status: {
          conditions: [
            {
              type: "DisruptionTarget",
              status: "True",
              reason: "DeletionByTaintManager",
              message: "Taint manager: deleting due to NoExecute taint",
            },
          ],
        },
      },
    },
    mergePatch,
  );
  await core.deleteNamespacedPod({ name, namespace: NAMESPACE, gracePeriodSeconds: 30 });
}

const providerDeletesOf = (name: string) =>
  provider.callsTo("pod", "DELETE").filter((call) => call.params.name === name);

const readPod = (name: string) => core.readNamespacedPod({ name, namespace: NAMESPACE });

async function podExists(name: string): Promise<boolean> {
  const { items } = await core.listNamespacedPod({
    namespace: NAMESPACE,
    fieldSelector: `metadata.name=${name}`,
  });
  return items.length > 0;
}

async function eventsOf(name: string, namespace = NAMESPACE): Promise<CoreV1Event[]> {
  const { items } = await core.listNamespacedEvent({
    namespace,
    fieldSelector: `involvedObject.name=${name}`,
  });
  return items;
}

const eventReasons = async (name: string) => (await eventsOf(name)).map((event) => event.reason).sort();

/** The provider's PUTs of one pod, in the order they arrived. */
const putsOf = (name: string): ProviderCall[] =>
  provider.callsTo("pod", "PUT").filter((call) => call.params.name === name);

const sentImage = (call: ProviderCall | undefined) =>
  (call?.body as PutPodRequest | undefined)?.pod.spec?.containers[0]?.image;

const condition = (node: V1Node, type: string) => node.status?.conditions?.find((c) => c.type === type);
const readyCondition = (node: V1Node) => condition(node, "Ready");

beforeEach(async () => {
  [cluster, provider] = await Promise.all([FakeCluster.start(), ContractProvider.start(FUNCTION_KEY)]);
  core = cluster.kubeConfig().makeApiClient(CoreV1Api);
  apps = cluster.kubeConfig().makeApiClient(AppsV1Api);
});

afterEach(async () => {
  await adapter?.stop();
  adapter = undefined;
  await provider.stop();
  await cluster.stop();
});

describe("pod controller lifecycle against an in-memory apiserver", () => {
  it("sends a pod bound to its node to the provider and records Submitted; pods of other nodes stay out", async () => {
    await createPod("elsewhere-before", { nodeName: "another-node" });
    adapter = await startControllers();
    await createPod("elsewhere-after", { nodeName: "another-node" });
    const pod = await createPod("sensor");

    await eventually(() => expect(putsOf("sensor")).toHaveLength(1), soon);
    expect(putsOf("sensor")[0]?.body).toMatchObject({
      node: NODE,
      pod: { metadata: { name: "sensor", uid: pod.metadata?.uid } },
      resolved: { configMaps: {}, secrets: {} },
    });
    const submitted = await eventually(async () => {
      const found = (await eventsOf("sensor")).find((event) => event.reason === "Submitted");
      if (!found) throw new Error("no Submitted event yet");
      return found;
    }, soon);
    expect(submitted).toMatchObject({
      type: "Normal",
      involvedObject: { kind: "Pod", name: "sensor", uid: pod.metadata?.uid },
      source: { component: "iot-edge-connector", host: NODE },
    });
    // The watch delivers changes in order: both other pods came before this one, and were not let in.
    expect(adapter.pods.listPods().map((p) => p.metadata?.name)).toEqual(["sensor"]);
    expect(provider.callsTo("pod", "PUT").map((call) => call.params.name)).toEqual(["sensor"]);
  });

  it("re-sends a pod whose spec changed, and not one whose status alone changed", async () => {
    // One worker syncs pods in the order their changes arrive, so a later pod reaching the provider
    // proves an earlier change has been handled. The status writer is off: the only status change
    // is the test's own.
    adapter = await startControllers({ workers: 1, writeStatuses: false });
    await createPod("sensor");
    await createPod("marker-1");
    await eventually(() => expect(putsOf("marker-1")).toHaveLength(1), soon);

    await core.patchNamespacedPodStatus(
      {
        name: "sensor",
        namespace: NAMESPACE,
        body: { status: { phase: "Running", message: "status only" } },
      },
      mergePatch,
    );
    await createPod("marker-2");
    await eventually(() => expect(putsOf("marker-2")).toHaveLength(1), soon);
    expect(putsOf("sensor")).toHaveLength(1);

    const current = await readPod("sensor");
    const container = current.spec?.containers[0];
    if (!container) throw new Error("the pod has no container");
    container.image = "sensor:2";
    await core.replaceNamespacedPod({ name: "sensor", namespace: NAMESPACE, body: current });
    await eventually(() => expect(putsOf("sensor")).toHaveLength(2), soon);
    expect(putsOf("sensor").map(sentImage)).toEqual(["sensor:1", "sensor:2"]);
    await eventually(
      async () => expect(await eventReasons("sensor")).toEqual(["Submitted", "Updated"]),
      soon,
    );
  });

  it("deletes a pod at the provider first, and removes it with grace 0 and its uid once the provider has no such pod", async () => {
    adapter = await startControllers();
    const uid = (await createPod("sensor")).metadata?.uid;
    await eventually(() => expect(provider.pods.has(`${NAMESPACE}/sensor`)).toBe(true), soon);
    provider.holdRemovals = true;

    const terminating = await core.deleteNamespacedPod({
      name: "sensor",
      namespace: NAMESPACE,
      gracePeriodSeconds: 30,
    });
    expect(terminating.metadata?.deletionTimestamp).toBeInstanceOf(Date);
    // The provider accepted the removal and is still removing; the controller keeps asking.
    await eventually(() => {
      const deletes = provider.callsTo("pod", "DELETE").filter((call) => call.params.name === "sensor");
      expect(deletes.map((call) => call.query.get("uid"))).toEqual([uid]);
      const answers = provider.callsTo("podStatus").filter((call) => call.params.name === "sensor");
      expect(answers.filter((call) => call.status === 200).length).toBeGreaterThanOrEqual(2);
    }, soon);
    expect((await readPod("sensor")).metadata?.deletionTimestamp).toBeInstanceOf(Date);

    provider.finishRemovals();
    await eventually(async () => expect(await podExists("sensor")).toBe(false), soon);
    expect(provider.pods.has(`${NAMESPACE}/sensor`)).toBe(false);
    const removals = cluster.requests.filter(
      (request) =>
        request.method === "DELETE" && request.path === `/api/v1/namespaces/${NAMESPACE}/pods/sensor`,
    );
    expect(removals).toHaveLength(2); // the test's, then the controller's
    expect(removals[1]?.query.get("gracePeriodSeconds")).toBe("0");
    expect(removals[1]?.body).toEqual({ gracePeriodSeconds: 0, preconditions: { uid } });
    expect(provider.callsTo("pod", "DELETE")).toHaveLength(1);
    await eventually(async () => expect(await eventReasons("sensor")).toContain("Removed"), soon);
  });

  it("writes the provider's status to the pod's status subresource", async () => {
    adapter = await startControllers();
    await createPod("sensor");

    const pod = await eventually(async () => {
      const found = await readPod("sensor");
      expect(found.status?.phase).toBe("Running");
      return found;
    }, soon);
    const provided = provider.pods.get(`${NAMESPACE}/sensor`)?.status.status;
    expect(pod.status?.containerStatuses).toEqual(provided?.containerStatuses);
    // each condition as provided, stamped with when its status last changed
    const untimed = (conditions: V1PodCondition[] = []) =>
      conditions.map(({ lastTransitionTime: _, ...condition }) => condition);
    expect(untimed(pod.status?.conditions)).toEqual(untimed(provided?.conditions));
    for (const condition of pod.status?.conditions ?? [])
      expect(condition.lastTransitionTime).toBeInstanceOf(Date);
    expect(pod.status).toMatchObject({ hostIP: "127.0.0.1", hostIPs: [{ ip: "127.0.0.1" }] });
    expect(pod.spec?.containers[0]?.image).toBe("sensor:1");
    const writes = cluster.requests.filter(
      (request) =>
        request.method === "PATCH" && request.path === `/api/v1/namespaces/${NAMESPACE}/pods/sensor/status`,
    );
    expect(writes.length).toBeGreaterThanOrEqual(1);
    expect(writes[0]?.contentType).toBe("application/merge-patch+json");
    expect(writes[0]?.body).not.toHaveProperty("status.qosClass");
    await eventually(async () => expect(await eventReasons("sensor")).toContain("Applied"), soon);
  });

  it("retries with backoff while the provider is down, keeps the node Ready and the pods' last status, sends every pod once it is back, and loses none", async () => {
    adapter = await startControllers();
    await createPod("before");
    await eventually(() => expect(provider.pods.has(`${NAMESPACE}/before`)).toBe(true), soon);

    await eventually(async () => expect((await readPod("before")).status?.phase).toBe("Running"), soon);
    const lastKnown = (await readPod("before")).status;

    await provider.stop();
    await createPod("during-1");
    await createPod("during-2");
    const retries = (pod: string) =>
      (adapter?.logs ?? []).filter((line) => line.msg === "pod sync failed; will retry" && line.pod === pod);
    await eventually(() => expect(retries(`${NAMESPACE}/during-1`).length).toBeGreaterThanOrEqual(3), soon);
    expect(retries(`${NAMESPACE}/during-1`).slice(0, 3)).toMatchObject([
      { attempt: 1, retryInMs: RETRY_DELAY_MS },
      { attempt: 2, retryInMs: RETRY_DELAY_MS * 2 },
      { attempt: 3, retryInMs: RETRY_DELAY_MS * 4 },
    ]);
    await eventually(async () => {
      expect(condition(await core.readNode({ name: NODE }), "ProviderReachable")).toMatchObject({
        status: "False",
        reason: "ProviderUnreachable",
      });
    }, soon);
    const down = await core.readNode({ name: NODE });
    expect(readyCondition(down)).toMatchObject({ status: "True", reason: "KubeletReady" });
    expect(condition(down, "HubReachable")).toMatchObject({ status: "Unknown" });
    expect((await readPod("before")).status).toEqual(lastKnown);
    const nodeEvents = await eventsOf(NODE, "default");
    expect(nodeEvents.map((event) => [event.type, event.reason, event.involvedObject.kind])).toEqual([
      ["Warning", "ProviderUnreachable", "Node"],
    ]);
    expect(await adapter.metricValue("adapter_provider_reachable")).toBe(0);

    await provider.restart();
    await eventually(
      () =>
        expect([...provider.pods.keys()].sort()).toEqual([
          "default/before",
          "default/during-1",
          "default/during-2",
        ]),
      soon,
    );
    for (const name of ["during-1", "during-2"]) {
      await eventually(async () => expect((await readPod(name)).status?.phase).toBe("Running"), soon);
      expect(await eventReasons(name)).toContain("Submitted");
    }
    expect(putsOf("before")).toHaveLength(1); // what was sent before the outage is not sent again
    await eventually(async () => {
      expect(condition(await core.readNode({ name: NODE }), "ProviderReachable")).toMatchObject({
        status: "True",
      });
    }, soon);
    await eventually(async () => {
      const reasons = (await eventsOf(NODE, "default")).map((event) => event.reason);
      expect(reasons.sort()).toEqual(["ProviderAnswers", "ProviderUnreachable"]);
    }, soon);
    expect(await adapter.metricValue("adapter_provider_reachable")).toBe(1);
  });

  it("while the app answers 503 with Retry-After, holds every pod sync for it (no failure, no backoff) and then sends each pod", async () => {
    adapter = await startControllers({ workers: 4 });
    provider.busyPuts = 1;
    provider.busyRetryAfterSeconds = 1;
    await createPod("busy-1");
    const busyAt = await eventually(() => {
      const [refused] = provider.callsTo("pod", "PUT").filter((call) => call.status === 503);
      if (!refused) throw new Error("no PUT refused yet");
      return refused.at;
    }, soon);
    await createPod("busy-2");
    await createPod("busy-3");
    await eventually(
      () => expect([...provider.pods.keys()].filter((key) => key.includes("busy-")).sort()).toHaveLength(3),
      soon,
    );
    const puts = provider.callsTo("pod", "PUT");
    expect(puts.map((call) => call.status)).toEqual([503, 200, 200, 200]);
    // Retry-After is whole seconds; the host's clock and this one agree within a few ms
    for (const call of puts.slice(1)) expect(call.at).toBeGreaterThanOrEqual(busyAt + 990);
    const logs = adapter.logs;
    expect(logs.filter((line) => line.msg === "pod sync failed; will retry")).toEqual([]);
    expect(logs.filter((line) => line.msg === "provider busy; pod syncs wait")).toHaveLength(1);
  });

  it("says in the message of each pod whose status it can no longer refresh that the Functions app does not answer, and since when, keeping its phase", async () => {
    adapter = await startControllers({ staleStatusAfterMs: 300 });
    await createPod("sensor");
    await eventually(async () => expect((await readPod("sensor")).status?.phase).toBe("Running"), soon);
    const lastKnown = (await readPod("sensor")).status!;

    await provider.stop();
    const stale = await eventually(async () => {
      const status = (await readPod("sensor")).status!;
      expect(status.message).toMatch(
        /^status not refreshed: the connector's Functions app does not answer since \d{4}-\d\d-\d\dT[\d:.]+Z; last known: /,
      );
      return status;
    }, soon);
    expect(stale.message?.endsWith(`last known: ${lastKnown.message ?? "(none)"}`)).toBe(true);
    expect(stale.phase).toBe("Running");
    expect(stale.reason).toBe(lastKnown.reason);
    expect(stale.conditions).toEqual(lastKnown.conditions);
    expect(stale.containerStatuses).toEqual(lastKnown.containerStatuses);

    await provider.restart();
    await eventually(
      async () => expect((await readPod("sensor")).status?.message).toBe(lastKnown.message),
      soon,
    );
  });

  it("writes a new reason and message of the same status version (the hub's trouble shown or gone)", async () => {
    adapter = await startControllers();
    await createPod("waiting");
    await eventually(async () => expect((await readPod("waiting")).status?.phase).toBe("Running"), soon);
    provider.setReason(`${NAMESPACE}/waiting`, "HubThrottling", "the hub has throttled ...; waiting");
    await eventually(
      async () => expect((await readPod("waiting")).status).toMatchObject({ reason: "HubThrottling" }),
      soon,
    );
    provider.setReason(`${NAMESPACE}/waiting`, undefined, "running on 3 of 3 devices");
    await eventually(async () => {
      const status = (await readPod("waiting")).status;
      expect(status?.reason).toBeUndefined();
      expect(status?.message).toBe("running on 3 of 3 devices");
    }, soon);
  });

  it("while the node's statuses change without pause, reads the whole list at most once a second, and the last change still reaches the pod", async () => {
    adapter = await startControllers();
    await createPod("busy");
    await eventually(async () => expect((await readPod("busy")).status?.phase).toBe("Running"), soon);
    const listsBefore = provider.callsTo("nodePods").filter((call) => call.status === 200).length;
    // a change every 50 ms for 2.5 s: unpaced, the long-poll answers each one at once
    for (let change = 0; change < 50; change += 1) {
      provider.setReason(`${NAMESPACE}/busy`, undefined, `running on ${change} of 50 devices`);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    const lists = provider.callsTo("nodePods").filter((call) => call.status === 200).length - listsBefore;
    expect(lists).toBeGreaterThanOrEqual(2);
    expect(lists).toBeLessThanOrEqual(4);
    await eventually(
      async () => expect((await readPod("busy")).status?.message).toBe("running on 49 of 50 devices"),
      soon,
    );
  });

  it("at start tells the provider which pods are live, so it drops the rest, and sends each live pod", async () => {
    const a = await createPod("sensor-a");
    const b = await createPod("sensor-b");
    await createPod("elsewhere", { nodeName: "another-node" });
    // A deployment from an earlier run whose pod the cluster no longer has.
    const earlier = new ProviderClient({
      baseUrl: provider.baseUrl,
      functionKey: FUNCTION_KEY,
      hubName: HUB,
      nodeName: NODE,
    });
    await earlier.putPod(
      {
        metadata: { name: "gone", namespace: NAMESPACE, uid: "uid-gone" },
        spec: { containers: [{ name: "sensor", image: "sensor:1" }] },
      },
      { configMaps: {}, secrets: {} },
    );

    adapter = await startControllers();
    expect(provider.reconciled?.sort()).toEqual([
      `${NAMESPACE}/sensor-a/${a.metadata?.uid}`,
      `${NAMESPACE}/sensor-b/${b.metadata?.uid}`,
    ]);
    expect(provider.pods.has(`${NAMESPACE}/gone`)).toBe(false);
    await eventually(
      () => expect([...provider.pods.keys()].sort()).toEqual(["default/sensor-a", "default/sensor-b"]),
      soon,
    );
    expect(putsOf("elsewhere")).toHaveLength(0);
  });

  it("reconciles with the provider periodically: drops the pods the cluster no longer has, sends again those the provider lost", async () => {
    adapter = await startControllers({ reconcileIntervalMs: 100 });
    await createPod("sensor-a");
    await createPod("sensor-b");
    await eventually(() => expect(provider.pods.size).toBe(2), soon);
    const reconcilesBefore = provider.callsTo("nodeReconcile").length;

    // Behind the adapter's back: the app loses sensor-a, and holds a pod the cluster never had.
    provider.pods.delete(`${NAMESPACE}/sensor-a`);
    const stranger = new ProviderClient({
      baseUrl: provider.baseUrl,
      functionKey: FUNCTION_KEY,
      hubName: HUB,
      nodeName: NODE,
    });
    await stranger.putPod(
      {
        metadata: { name: "stranger", namespace: NAMESPACE, uid: "uid-stranger" },
        spec: { containers: [{ name: "sensor", image: "sensor:1" }] },
      },
      { configMaps: {}, secrets: {} },
    );

    await eventually(
      () => expect([...provider.pods.keys()].sort()).toEqual(["default/sensor-a", "default/sensor-b"]),
      soon,
    );
    expect(provider.callsTo("nodeReconcile").length).toBeGreaterThan(reconcilesBefore);
    expect(putsOf("sensor-a")).toHaveLength(2);
    expect(putsOf("sensor-b")).toHaveLength(1);
  });

  it("sends no pod to the provider before its reconcile, which drops every pod not live at the list", async () => {
    await createPod("sensor-a");
    await createPod("sensor-b");

    adapter = await startControllers();
    await eventually(() => expect(putsOf("sensor-a")).toHaveLength(1), soon);
    await eventually(() => expect(putsOf("sensor-b")).toHaveLength(1), soon);
    const arrivals = provider.calls.map((call) =>
      `${call.method} ${call.route} ${call.params.name ?? ""}`.trim(),
    );
    const reconciledAt = arrivals.indexOf("POST nodeReconcile");
    expect(reconciledAt).toBeGreaterThanOrEqual(0);
    expect(arrivals.indexOf("PUT pod sensor-a")).toBeGreaterThan(reconciledAt);
    expect(arrivals.indexOf("PUT pod sensor-b")).toBeGreaterThan(reconciledAt);
  });

  it("registers its node again when the node is deleted", async () => {
    adapter = await startControllers();
    const before = await core.readNode({ name: NODE });
    expect(readyCondition(before)).toMatchObject({ status: "True", reason: "KubeletReady" });
    expect(condition(before, "HubReachable")).toMatchObject({ status: "True" });

    await core.deleteNode({ name: NODE });
    const after = await eventually(async () => {
      const node = await core.readNode({ name: NODE });
      expect(node.metadata?.uid).not.toBe(before.metadata?.uid);
      expect(readyCondition(node)).toMatchObject({ status: "True", reason: "KubeletReady" });
      return node;
    }, soon);
    expect(after.metadata?.labels).toMatchObject({ type: "virtual-kubelet", "iotedge.connector/hub": HUB });
    expect(after.spec?.taints).toEqual([
      { key: "virtual-kubelet.io/provider", value: "iotedge", effect: "NoSchedule" },
    ]);
    expect(after.status?.addresses).toEqual([{ type: "InternalIP", address: "127.0.0.1" }]);
  });

  it("sends the replicas of a Deployment's new ReplicaSet with its stage, and again as the stage grows; old replicas and all-at-once pods without one", async () => {
    adapter = await startControllers({ writeStatuses: false });
    const deployment = await createDeployment("sensor", 4, "2");
    const old = await createDeploymentReplicaSet(deployment, "old1", 4, "1");
    await Promise.all(["sensor-old1-a", "sensor-old1-b"].map((name) => createPod(name, { owner: old })));
    const updated = await createDeploymentReplicaSet(deployment, "new2", 1, "2");
    await createPod("sensor-new2-a", { owner: updated });
    await eventually(() => expect(putsOf("sensor-new2-a")).toHaveLength(1), soon);
    expect(sentStage("sensor-new2-a")).toEqual({ percent: 25 });
    expect(sentStage("sensor-old1-a")).toBeUndefined();

    // the Deployment controller scales the new ReplicaSet up, then creates its pod
    await scaleReplicaSet("sensor-new2", 2);
    await createPod("sensor-new2-b", { owner: updated });
    await eventually(() => {
      expect(sentStage("sensor-new2-b")).toEqual({ percent: 50 });
      expect(sentStage("sensor-new2-a")).toEqual({ percent: 50 });
    }, soon);
    expect(putsOf("sensor-old1-a")).toHaveLength(1);

    // the last old replica gone: the whole scope
    await core.deleteNamespacedPod({ name: "sensor-old1-a", namespace: NAMESPACE });
    await core.deleteNamespacedPod({ name: "sensor-old1-b", namespace: NAMESPACE });
    await eventually(() => {
      expect(putsOf("sensor-new2-a")).toHaveLength(3);
      expect(putsOf("sensor-new2-b")).toHaveLength(2);
    }, soon);
    expect(sentStage("sensor-new2-a")).toBeUndefined();
    expect(sentStage("sensor-new2-b")).toBeUndefined();
  });

  it("sends a new replica and its sibling the stage after a scale-up, even while a read of their ReplicaSet begun before it is answered", async () => {
    adapter = await startControllers({ writeStatuses: false });
    const { old, updated } = await rolloutAtFirstStage("new2");

    // a pod event syncs sensor-new2-a again; its ReplicaSet read is answered only after the scale-up
    const held = cluster.holdNextGet("/replicasets/sensor-new2");
    await createPod("sensor-old1-c", { owner: old });
    expect((await held.asked).spec?.replicas).toBe(1);
    await scaleReplicaSet("sensor-new2", 2);
    await createPod("sensor-new2-b", { owner: updated });
    await eventually(() => expect(sentStage("sensor-new2-b")).toEqual({ percent: 50 }), soon);
    expect(sentStage("sensor-new2-a")).toEqual({ percent: 25 });

    held.release();
    await eventually(() => expect(sentStage("sensor-new2-a")).toEqual({ percent: 50 }), soon);
  });

  it("sends the first replica of each ReplicaSet before the other replicas waiting, so that each configuration is asked for early", async () => {
    const first = await createReplicaSet("first", 4);
    const second = await createReplicaSet("second", 2);
    for (const name of ["first-a", "first-b", "first-c", "first-d"]) await createPod(name, { owner: first });
    for (const name of ["second-a", "second-b"]) await createPod(name, { owner: second });

    adapter = await startControllers({ workers: 1, writeStatuses: false });
    await eventually(() => expect(provider.pods.size).toBe(6), soon);
    const order = provider.calls
      .filter((call) => call.method === "PUT" && call.route === "pod")
      .map((call) => call.params.name);
    expect(order.slice(0, 2).sort()).toEqual(["first-a", "second-a"]);
    expect(order.slice(2)).toEqual(["first-b", "first-c", "first-d", "second-b"]);
  });

  it("sends a burst of replicas of a Deployment's only ReplicaSet once each, reading the ReplicaSet and the Deployment once", async () => {
    adapter = await startControllers({ writeStatuses: false });
    const deployment = await createDeployment("sensor", 30, "1");
    const only = await createDeploymentReplicaSet(deployment, "one1", 30, "1");
    const names = Array.from({ length: 30 }, (_, index) => `sensor-one1-${index}`);
    await Promise.all(names.map((name) => createPod(name, { owner: only })));
    await eventually(() => expect(provider.pods.size).toBe(30), soon);
    const reads = (path: string) =>
      cluster.requests.filter((request) => request.method === "GET" && request.path.endsWith(path)).length;
    expect(reads("/replicasets/sensor-one1")).toBe(1);
    expect(reads("/deployments/sensor")).toBe(1);
    for (const name of names) {
      expect(putsOf(name), name).toHaveLength(1);
      expect(sentStage(name), name).toBeUndefined();
    }
  });

  it("never widens a replica of a ReplicaSet rolled back from: it keeps the stage it was sent with", async () => {
    adapter = await startControllers({ writeStatuses: false });
    const { old: stable } = await rolloutAtFirstStage("bad2");

    // kubectl rollout undo: the stable ReplicaSet becomes the newest revision; a pod event follows
    const revision = (value: string) => ({
      metadata: { annotations: { "deployment.kubernetes.io/revision": value } },
    });
    await apps.patchNamespacedDeployment(
      { name: "sensor", namespace: NAMESPACE, body: revision("3") },
      mergePatch,
    );
    await apps.patchNamespacedReplicaSet(
      { name: "sensor-old1", namespace: NAMESPACE, body: revision("3") },
      mergePatch,
    );
    await createPod("sensor-old1-c", { owner: stable });
    await eventually(() => expect(putsOf("sensor-old1-c")).toHaveLength(1), soon);
    await core.deleteNamespacedPod({ name: "sensor-old1-a", namespace: NAMESPACE });
    await eventually(async () => expect(await podExists("sensor-old1-a")).toBe(false), soon);
    expect(sentStage("sensor-old1-c")).toBeUndefined();
    expect(putsOf("sensor-bad2-a")).toHaveLength(1);
    expect(sentStage("sensor-bad2-a")).toEqual({ percent: 25 });
  });

  it("sends a new replica without the rollout annotation its stage (staged is the default); none with one annotated all-at-once, a bare ReplicaSet's pod, or when the Deployment is whole", async () => {
    adapter = await startControllers({ writeStatuses: false });
    const deployment = await createDeployment("sensor", 2, "2");
    const old = await createDeploymentReplicaSet(deployment, "old1", 1, "1");
    await createPod("sensor-old1-a", { owner: old });
    const updated = await createDeploymentReplicaSet(deployment, "new2", 1, "2");
    await createPod("sensor-new2-a", {
      owner: updated,
      annotations: { "iotedge.connector/rollout": "all-at-once" },
    });
    await createPod("sensor-new2-b", { owner: updated });
    const bare = await createReplicaSet("bare", 1);
    await createPod("bare-a", { owner: bare });
    const whole = await createDeployment("whole", 1, "1");
    const wholeSet = await createDeploymentReplicaSet(whole, "w1", 1, "1");
    await createPod("whole-w1-a", { owner: wholeSet });
    await eventually(() => expect(provider.pods.size).toBe(5), soon);
    await eventually(() => expect(sentStage("sensor-new2-b")).toEqual({ percent: 50 }), soon);
    for (const name of ["sensor-new2-a", "bare-a", "whole-w1-a", "sensor-old1-a"])
      expect(sentStage(name), name).toBeUndefined();
  });

  it("keeps an evicted pod of a ReplicaSet at the provider until its replacement is sent, then removes it", async () => {
    adapter = await startControllers({ writeStatuses: false });
    const owner = await createReplicaSet("sensor", 1);
    await createPod("sensor-a", { owner });
    await eventually(() => expect(provider.pods.has(`${NAMESPACE}/sensor-a`)).toBe(true), soon);

    await evict("sensor-a");
    await eventually(
      async () => expect(await eventReasons("sensor-a")).toContain("KeptForReplacement"),
      soon,
    );
    expect(providerDeletesOf("sensor-a")).toEqual([]);
    expect(provider.pods.has(`${NAMESPACE}/sensor-a`)).toBe(true);
    expect((await readPod("sensor-a")).metadata?.deletionTimestamp).toBeInstanceOf(Date);

    await createPod("sensor-b", { owner });
    await eventually(async () => expect(await podExists("sensor-a")).toBe(false), soon);
    expect(putsOf("sensor-b")).toHaveLength(1);
    expect(providerDeletesOf("sensor-a")).toHaveLength(1);
    // the replacement was at the provider before the evicted pod left it
    const order = provider.calls.filter(
      (call) => call.params.name === "sensor-b" || call.params.name === "sensor-a",
    );
    const putB = order.findIndex(
      (call) => call.route === "pod" && call.method === "PUT" && call.params.name === "sensor-b",
    );
    const deleteA = order.findIndex((call) => call.route === "pod" && call.method === "DELETE");
    expect(putB).toBeLessThan(deleteA);
  });

  it("removes an evicted pod as usual once its ReplicaSet is scaled down or deleted, and a bare evicted pod at once", async () => {
    adapter = await startControllers({ writeStatuses: false });
    const scaled = await createReplicaSet("scaled", 1);
    const deleted = await createReplicaSet("deleted", 1);
    await createPod("scaled-a", { owner: scaled });
    await createPod("deleted-a", { owner: deleted });
    await createPod("bare");
    await eventually(() => expect(provider.pods.size).toBe(3), soon);

    await Promise.all(["scaled-a", "deleted-a", "bare"].map(evict));
    await eventually(async () => expect(await podExists("bare")).toBe(false), soon);
    await eventually(async () => {
      expect(await eventReasons("scaled-a")).toContain("KeptForReplacement");
      expect(await eventReasons("deleted-a")).toContain("KeptForReplacement");
    }, soon);
    expect(providerDeletesOf("scaled-a")).toEqual([]);
    expect(providerDeletesOf("deleted-a")).toEqual([]);

    await apps.patchNamespacedReplicaSet(
      { name: "scaled", namespace: NAMESPACE, body: { spec: { replicas: 0 } } },
      mergePatch,
    );
    await apps.deleteNamespacedReplicaSet({ name: "deleted", namespace: NAMESPACE });
    await eventually(async () => {
      expect(await podExists("scaled-a")).toBe(false);
      expect(await podExists("deleted-a")).toBe(false);
    }, soon);
    expect(provider.pods.size).toBe(0);
  });

  it("keeps a pod deleted while its node was not Ready (before the adapter started) as an evicted one", async () => {
    adapter = await startControllers({ writeStatuses: false });
    const owner = await createReplicaSet("sensor", 1);
    await createPod("sensor-a", { owner });
    await eventually(() => expect(provider.pods.has(`${NAMESPACE}/sensor-a`)).toBe(true), soon);
    await adapter.stop();
    adapter = undefined;
    // The adapter is away: Kubernetes marks the node not Ready, then someone deletes the pod.
    await core.patchNodeStatus(
      {
        name: NODE,
        body: {
          status: {
            conditions: [
              {
                type: "Ready",
                status: "Unknown",
                reason: "NodeStatusUnknown",
                lastTransitionTime: new Date(Date.now() - 60_000),
                lastHeartbeatTime: new Date(Date.now() - 60_000),
              },
            ],
          },
        },
      },
      mergePatch,
    );
    await core.deleteNamespacedPod({ name: "sensor-a", namespace: NAMESPACE, gracePeriodSeconds: 30 });

    adapter = await startControllers({ writeStatuses: false });
    await eventually(
      async () => expect(await eventReasons("sensor-a")).toContain("KeptForReplacement"),
      soon,
    );
    expect(providerDeletesOf("sensor-a")).toEqual([]);
    await createPod("sensor-b", { owner });
    await eventually(async () => expect(await podExists("sensor-a")).toBe(false), soon);
    expect(providerDeletesOf("sensor-a")).toHaveLength(1);
    expect(provider.pods.has(`${NAMESPACE}/sensor-b`)).toBe(true);
  });
});
