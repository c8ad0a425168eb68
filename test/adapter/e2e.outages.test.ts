// Issue 12 end to end: an outage behind the adapter never takes workloads off the devices. A real
// control plane whose node lifecycle controller gives up on a node 10 s after its last heartbeat
// (40 s by default), three healthy stand-in nodes beside the virtual one (with every node unhealthy
// it would enter full disruption and evict nothing; a real cluster has healthy nodes), the adapter as
// its own process, the Functions app on the local host, the IoT Hub simulator. The test pods tolerate
// an unreachable or not-Ready node for 2 s only (300 s by default), so an eviction would happen inside
// each test. The hub's outage lasts as long as the pods need to say why they wait (the hub's trouble
// is shown after a minute, lib/provider/hubTrouble.ts), far beyond what Kubernetes waits.
import { setTimeout as sleep } from "node:timers/promises";
import type { CoreV1Event, V1Node, V1Pod } from "@kubernetes/client-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { ControlPlane } from "../../dev/cluster/controlPlane.js";
import { startConnectorStack, type ConnectorStack } from "../../dev/connector/connectorStack.js";
import { podsSelected, type LocalApp } from "../../dev/connector/localApp.js";
import type { RunningSimulator } from "../../dev/simulator/simulator.js";
import type { HubClient } from "../../lib/hub/hubClient.js";
import { startTestSimulator } from "../support/testSimulator.js";
import { eventually } from "./support/eventually.js";
import { sensorDeployment } from "./support/sensorDeployment.js";
import { startStandInNodes } from "./support/standInNodes.js";

const HUB = "hub1";
const NODE = "vk-outages";
const WORKLOAD = "sensor-outages";
const REPLICAS = 2;
const IMAGE = "mcr.microsoft.com/azureiotedge-simulated-temperature-sensor:1.5";
const DEVICES = ["dev-1", "dev-2", "dev-3"];
/** How long the node lifecycle controller waits for a heartbeat, and the pods tolerate a bad node. */
const GRACE_SECONDS = 10;
const TOLERATION_SECONDS = 2;
/** Longer than a node without heartbeat needs to lose its pods (grace, toleration, and a margin). */
const OUTLAST_EVICTION_MS = (GRACE_SECONDS + TOLERATION_SECONDS + 10) * 1000;
const POLL = { attempts: 300, intervalMs: 500 };

describe("outages behind the adapter never take workloads off the devices", { timeout: 300_000 }, () => {
  let cluster: ControlPlane;
  let simulator: RunningSimulator;
  let app: LocalApp;
  let hub: HubClient;
  let standIns: Awaited<ReturnType<typeof startStandInNodes>> | undefined;
  let stack: ConnectorStack | undefined;

  const node = async () =>
    JSON.parse((await cluster.kubectl(["get", "node", NODE, "--output=json"])).stdout) as V1Node;
  const condition = (found: V1Node, type: string) => found.status?.conditions?.find((c) => c.type === type);
  const evictionTaints = (found: V1Node) =>
    (found.spec?.taints ?? []).filter((taint) => taint.effect === "NoExecute");
  const nodeEvents = async () => {
    const { stdout } = await cluster.kubectl([
      "get",
      "events",
      "--namespace=default",
      `--field-selector=involvedObject.kind=Node,involvedObject.name=${NODE}`,
      "--output=json",
    ]);
    return (JSON.parse(stdout) as { items: CoreV1Event[] }).items;
  };
  const pods = () => podsSelected(cluster, `app=${WORKLOAD}`);
  const podEvents = async () => {
    const { stdout } = await cluster.kubectl([
      "get",
      "events",
      "--namespace=default",
      "--field-selector=involvedObject.kind=Pod",
      "--output=json",
    ]);
    return (JSON.parse(stdout) as { items: CoreV1Event[] }).items;
  };
  const uids = (list: V1Pod[]) => list.map((pod) => pod.metadata?.uid).sort();
  /** The workload's configurations on the hub (the app's base deployment left out). */
  const hubConfigurations = async () =>
    (await hub.listConfigurations())
      .filter((configuration) => configuration.labels?.["k8s-namespace"] === "default")
      .map((configuration) => configuration.id)
      .sort();
  const hubOperations = () => ({
    creates: simulator.stats.operations.addOrUpdateConfiguration ?? 0,
    deletes: simulator.stats.operations.removeConfiguration ?? 0,
  });
  /** Every device runs the workload's module: what the hub holds for it is untouched. */
  const devicesRunTheWorkload = () => {
    for (const device of DEVICES) {
      const twin = simulator.fleet.moduleTwin(device, "$edgeAgent") as {
        properties: { reported: { modules?: Record<string, { runtimeStatus?: string }> } };
      };
      expect(twin.properties.reported.modules?.sensor?.runtimeStatus, device).toBe("running");
    }
  };
  const allRunning = () =>
    eventually(async () => {
      await simulator.fleet.evaluateNow();
      const list = await pods();
      expect(list.filter((pod) => pod.metadata?.deletionTimestamp)).toEqual([]);
      expect(list).toHaveLength(REPLICAS);
      for (const pod of list) expect(pod.status?.phase, pod.status?.message).toBe("Running");
      return list;
    }, POLL);

  beforeAll(async () => {
    simulator = await startTestSimulator({
      hubName: HUB,
      evaluationIntervalMs: 200,
      devices: DEVICES.map((deviceId) => ({ deviceId, tags: { environment: "dev" } })),
    });
    stack = await startConnectorStack({
      simulator,
      hub: HUB,
      node: NODE,
      controlPlane: {
        nodeLifecycle: { monitorGracePeriodSeconds: GRACE_SECONDS, evictionRatePerSecond: 10 },
      },
      // no grace: a configuration released is deleted at once, so only the evicted-pod rule
      // (lib/adapter/evictionHold.ts) keeps the evicted pods' configuration for their replacements
      releaseGraceSeconds: 0,
    });
    ({ cluster, app, hub } = stack);
    standIns = await startStandInNodes(cluster, 3);
    await cluster.kubectl(
      ["apply", "--filename=-"],
      sensorDeployment(IMAGE, REPLICAS, { name: WORKLOAD, evictAfterSeconds: TOLERATION_SECONDS }),
    );
    await allRunning();
    await eventually(devicesRunTheWorkload, POLL);
  }, 240_000);

  afterAll(async () => {
    await standIns?.stop();
    await stack?.stop();
    await simulator?.stop();
  });

  it("the Functions app down longer than Kubernetes waits: the node stays Ready and untainted, says why, and no pod is evicted", async () => {
    const before = await allRunning();
    const configurations = await hubConfigurations();
    const operations = hubOperations();

    const stoppedAt = Date.now();
    await app.stopHost("SIGKILL");
    const reported = await eventually(async () => {
      const found = await node();
      expect(condition(found, "ProviderReachable")).toMatchObject({
        status: "False",
        reason: "ProviderUnreachable",
      });
      return found;
    }, POLL);
    console.log(`ProviderReachable=False ${Date.now() - stoppedAt} ms after the app stopped`);
    expect(condition(reported, "ProviderReachable")?.message).toMatch(/does not answer since \d{4}-/);
    expect(condition(reported, "HubReachable")?.status).toBe("Unknown");
    await eventually(async () => {
      const warnings = (await nodeEvents()).filter((event) => event.reason === "ProviderUnreachable");
      expect(warnings.map((event) => event.type)).toEqual(["Warning"]);
    }, POLL);

    // Through the outage, the node stays Ready and untainted and the pods keep their last status.
    while (Date.now() - stoppedAt < OUTLAST_EVICTION_MS) {
      const found = await node();
      expect(condition(found, "Ready")?.status).toBe("True");
      expect(evictionTaints(found)).toEqual([]);
      await sleep(2_000);
    }
    const during = await pods();
    expect(uids(during)).toEqual(uids(before));
    for (const pod of during) {
      expect(pod.metadata?.deletionTimestamp).toBeUndefined();
      expect(pod.status?.phase).toBe("Running");
      expect(pod.status?.conditions?.find((c) => c.type === "Ready")?.status).toBe("True");
    }
    devicesRunTheWorkload();
    expect(await hubConfigurations()).toEqual(configurations);

    await app.startHost();
    await eventually(async () => {
      expect(condition(await node(), "ProviderReachable")?.status).toBe("True");
    }, POLL);
    expect(uids(await allRunning())).toEqual(uids(before));
    expect(await hubConfigurations()).toEqual(configurations);
    expect(hubOperations()).toEqual(operations);
  });

  it("the adapter SIGKILLed longer than Kubernetes waits: its pods are evicted and kept for their replacements, the configuration stays on the hub with no release grace, and the Deployment comes back Running", async () => {
    const before = uids(await allRunning());
    const configurations = await hubConfigurations();
    const operations = hubOperations();

    const killedAt = Date.now();
    stack!.adapter.signal("SIGKILL");
    await stack!.adapter.exited;
    // With healthy nodes beside it, Kubernetes taints the silent node and evicts its pods.
    await eventually(async () => {
      expect(evictionTaints(await node()).map((taint) => taint.key)).toContain(
        "node.kubernetes.io/unreachable",
      );
      const evicted = (await pods()).filter((pod) => before.includes(pod.metadata?.uid));
      expect(evicted).toHaveLength(REPLICAS);
      for (const pod of evicted) {
        expect(pod.metadata?.deletionTimestamp, pod.metadata?.name).toBeDefined();
        expect(pod.status?.conditions?.find((c) => c.type === "DisruptionTarget")?.reason).toBe(
          "DeletionByTaintManager",
        );
      }
    }, POLL);
    console.log(`pods evicted ${Date.now() - killedAt} ms after the adapter was killed`);
    const remaining = OUTLAST_EVICTION_MS - (Date.now() - killedAt);
    if (remaining > 0) await sleep(remaining);
    devicesRunTheWorkload();
    expect(await hubConfigurations()).toEqual(configurations);

    // The adapter comes back with its node cordoned, so the replacements wait: the evicted pods
    // must neither leave the app nor the cluster (without the rule the adapter removes them at once
    // and, with no release grace, the configuration goes from the hub).
    await cluster.kubectl(["cordon", NODE]);
    stack!.startAdapter();
    const keptOrGone = await eventually(async () => {
      const kept = new Set(
        (await podEvents())
          .filter((event) => event.reason === "KeptForReplacement")
          .map((event) => event.involvedObject.uid),
      );
      const present = new Set(uids(await pods()));
      for (const uid of before) expect(kept.has(uid) || !present.has(uid), uid).toBe(true);
      return { kept, present };
    }, POLL);
    expect(before.filter((uid) => !keptOrGone.present.has(uid))).toEqual([]);
    const atApp = (await app.nodePods(HUB, NODE)).pods.map((pod) => pod.uid);
    for (const uid of before) expect(atApp).toContain(uid);
    expect(await hubConfigurations()).toEqual(configurations);
    devicesRunTheWorkload();
    await cluster.kubectl(["uncordon", NODE]);
    const replaced = await allRunning();
    expect(uids(replaced).filter((uid) => before.includes(uid))).toEqual([]);
    devicesRunTheWorkload();
    expect(await hubConfigurations()).toEqual(configurations);
    expect(hubOperations()).toEqual(operations);
    expect(evictionTaints(await node())).toEqual([]);
    const kept = (await podEvents()).filter((event) => event.reason === "KeptForReplacement");
    expect(new Set(kept.map((event) => event.involvedObject.uid))).toEqual(new Set(before));
  });

  it("the hub answering 429, then 503: the node stays Ready with HubReachable False, nothing leaves the hub, a pod applied meanwhile says why it waits, and all converges after", async () => {
    const before = uids(await allRunning());
    const configurations = await hubConfigurations();
    const { deletes } = hubOperations();
    const waiting = "sensor-waiting";
    const waitingPod = async () => {
      const [pod] = await podsSelected(cluster, `app=${waiting}`);
      expect(pod).toBeDefined();
      return pod!;
    };
    const nodeStaysReady = async () => {
      const found = await node();
      expect(condition(found, "Ready")?.status).toBe("True");
      expect(evictionTaints(found)).toEqual([]);
      return found;
    };

    const outageAt = Date.now();
    simulator.faults.outage({ status: 429, retryAfterSeconds: 5 });
    await cluster.kubectl(
      ["apply", "--filename=-"],
      sensorDeployment(IMAGE, 1, {
        name: waiting,
        container: "waiting",
        evictAfterSeconds: TOLERATION_SECONDS,
      }),
    );
    const throttled = await eventually(async () => {
      await nodeStaysReady();
      const pod = await waitingPod();
      expect(pod.status).toMatchObject({ phase: "Pending", reason: "HubThrottling" });
      expect(condition(await node(), "HubReachable")).toMatchObject({
        status: "False",
        reason: "HubThrottling",
      });
      return pod;
    }, POLL);
    console.log(
      `pod HubThrottling ${Date.now() - outageAt} ms into the outage: ${throttled.status?.message}`,
    );
    expect(throttled.status?.message).toMatch(
      /^the hub has throttled the connector's configuration operations \(429\) since \d{4}-.*; /,
    );

    simulator.faults.outage({ status: 503 });
    await eventually(async () => {
      const found = await nodeStaysReady();
      expect(condition(found, "HubReachable")).toMatchObject({ status: "False", reason: "HubUnavailable" });
      expect((await waitingPod()).status).toMatchObject({ phase: "Pending", reason: "HubUnavailable" });
    }, POLL);
    expect(Date.now() - outageAt).toBeGreaterThan(OUTLAST_EVICTION_MS);
    const during = await pods();
    expect(uids(during)).toEqual(before);
    for (const pod of during) {
      expect(pod.metadata?.deletionTimestamp).toBeUndefined();
      expect(pod.status?.phase).toBe("Running");
    }
    devicesRunTheWorkload();
    console.log(`hub outage ended after ${Date.now() - outageAt} ms`);
    simulator.faults.outage(undefined);

    const waitingId = await eventually(async () => {
      await simulator.fleet.evaluateNow();
      const pod = await waitingPod();
      expect(pod.status?.phase, pod.status?.message).toBe("Running");
      expect(condition(await nodeStaysReady(), "HubReachable")?.status).toBe("True");
      const onHub = await hubConfigurations();
      expect(onHub).toHaveLength(configurations.length + 1);
      return onHub.find((id) => !configurations.includes(id));
    }, POLL);
    expect(await hubConfigurations()).toEqual([...configurations, waitingId].sort());
    expect(uids(await allRunning())).toEqual(before);
    devicesRunTheWorkload();
    expect(hubOperations().deletes).toBe(deletes);
    await cluster.kubectl(["delete", "deployment", waiting]);
  });
});
