// Issue 12 end to end: outages never take workloads off the devices, and nothing leaks. One real
// control plane whose node lifecycle controller marks a node not Ready 10 s after its last heartbeat,
// three healthy stand-in nodes (so it evicts, as in a real cluster, instead of entering full
// disruption), two virtual nodes of one hub with an adapter process each (reconciling every 2 s), the
// Functions app on the local host (sweep every 5 s), the IoT Hub simulator. The test pods tolerate an
// unreachable or not-Ready node for 2 s only, so an eviction would happen inside each test. Then the
// Functions app is stopped, one adapter killed and the other frozen, and the hub answers 429 and 503
// to everything, each for longer than the pods' tolerations. Last, the local host's fault seam
// (LOCAL_HOST_ACTIVITY_FAULTS) fails five pods' orchestrations at five steps before a delete or update.
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import type { V1Node, V1Pod } from "@kubernetes/client-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startControlPlane, type ControlPlane } from "../../dev/cluster/controlPlane.js";
import { installChartForAdapters } from "../../dev/connector/installedAdapter.js";
import { podsSelected, startLocalApp, type LocalApp } from "../../dev/connector/localApp.js";
import type { ActivityFault } from "../../dev/host/durable/activityFaults.js";
import type { RunningSimulator } from "../../dev/simulator/simulator.js";
import { createHubClient } from "../../lib/hub/createHubClient.js";
import type { HubClient } from "../../lib/hub/hubClient.js";
import { startTestSimulator } from "../support/testSimulator.js";
import { startAdapterProcess } from "./support/adapterProcess.js";
import { eventually } from "./support/eventually.js";
import { sensorDeployment } from "./support/sensorDeployment.js";
import { startStandInNodes } from "./support/standInNodes.js";

const HUB = "hub1";
const FUNCTION_KEY = "e2e-outages-function-key";
const IMAGE = "mcr.microsoft.com/azureiotedge-simulated-temperature-sensor:1.5";
const DEVICES = ["dev-1", "dev-2", "dev-3"];
/** How long the node lifecycle controller waits for a heartbeat, and the pods tolerate a bad node. */
const GRACE_SECONDS = 10;
const TOLERATION_SECONDS = 2;
/** Longer than a not-Ready node would need to lose its pods. */
const OUTLAST_EVICTION_MS = (GRACE_SECONDS + TOLERATION_SECONDS + 8) * 1000;
const POLL = { attempts: 240, intervalMs: 500 };
/** The Durable retry policy of the pod activities: six attempts, then the orchestration fails. */
const ATTEMPTS = 6;

/** The two workloads every test keeps running: a on node vk-a (2 replicas), b on vk-b (1). */
const workloads = [
  { name: "sensor-a", container: "sensora", node: "vk-a", replicas: 2 },
  { name: "sensor-b", container: "sensorb", node: "vk-b", replicas: 1 },
];

describe("outages never take workloads off the devices, and nothing leaks", { timeout: 420_000 }, () => {
  let cluster: ControlPlane;
  let simulator: RunningSimulator;
  let app: LocalApp;
  let hub: HubClient;
  let standIns: Awaited<ReturnType<typeof startStandInNodes>>;
  const adapters = new Map<string, ReturnType<typeof startAdapterProcess>>();
  const adapterArgs = new Map<string, string[]>();
  let dir: string;
  let faultsFile: string;

  const node = async (name: string) =>
    JSON.parse((await cluster.kubectl(["get", "node", name, "--output=json"])).stdout) as V1Node;
  const condition = (found: V1Node, type: string) => found.status?.conditions?.find((c) => c.type === type);
  const evictionTaints = (found: V1Node) =>
    (found.spec?.taints ?? []).filter((t) => t.effect === "NoExecute");
  const podsOf = (name: string) => podsSelected(cluster, `app=${name}`);
  const allPods = async () => (await Promise.all(workloads.map((w) => podsOf(w.name)))).flat();
  const uids = (pods: V1Pod[]) => pods.map((pod) => pod.metadata?.uid).sort();
  /** The workloads' configurations on the hub (the app's base deployment left out). */
  const hubConfigurations = async () =>
    (await hub.listConfigurations())
      .filter((configuration) => configuration.labels?.["k8s-namespace"] === "default")
      .map((configuration) => configuration.id)
      .sort();
  const hubOperations = () => ({
    creates: simulator.stats.operations.addOrUpdateConfiguration ?? 0,
    deletes: simulator.stats.operations.removeConfiguration ?? 0,
  });
  /** Every device runs the module of every workload. */
  const devicesRunEverything = () => {
    for (const device of DEVICES) {
      const reported = simulator.fleet.moduleTwin(device, "$edgeAgent").properties as {
        reported: { modules?: Record<string, { runtimeStatus?: string }> };
      };
      for (const { container } of workloads)
        expect(reported.reported.modules?.[container]?.runtimeStatus, `${container} on ${device}`).toBe(
          "running",
        );
    }
  };
  const allRunning = () =>
    eventually(async () => {
      await simulator.fleet.evaluateNow();
      for (const workload of workloads) {
        const pods = (await podsOf(workload.name)).filter((pod) => !pod.metadata?.deletionTimestamp);
        expect(pods, workload.name).toHaveLength(workload.replicas);
        for (const pod of pods) {
          expect(pod.status?.phase, pod.status?.message).toBe("Running");
          expect(pod.status?.message ?? "").not.toContain("does not answer");
        }
      }
      const pods = await allPods();
      expect(pods.filter((pod) => pod.metadata?.deletionTimestamp)).toEqual([]);
      return pods;
    }, POLL);
  /** The app's pod list of each node equals the cluster's: nothing left behind, nothing twice. */
  const appMatchesCluster = async () => {
    for (const { node: nodeName } of workloads) {
      const listed = (await app.nodePods(HUB, nodeName)).pods.map((pod) => pod.uid).sort();
      const { stdout } = await cluster.kubectl([
        "get",
        "pods",
        "--all-namespaces",
        `--field-selector=spec.nodeName=${nodeName}`,
        "--output=json",
      ]);
      expect(listed, nodeName).toEqual(uids((JSON.parse(stdout) as { items: V1Pod[] }).items));
    }
  };
  const holdsOf = async (nodeName: string) => {
    const response = await fetch(`${app.url}/api/v1/hubs/${HUB}/nodes/${nodeName}/holds`, {
      headers: { "x-functions-key": FUNCTION_KEY },
    });
    return ((await response.json()) as { holds: unknown[] }).holds;
  };
  const startAdapter = (nodeName: string) => {
    adapters.set(nodeName, startAdapterProcess(adapterArgs.get(nodeName) ?? []));
  };

  beforeAll(async () => {
    dir = await mkdtemp(path.join(tmpdir(), "e2e-outages-"));
    faultsFile = path.join(dir, "activity-faults.json");
    await writeFile(faultsFile, "[]");
    [cluster, simulator] = await Promise.all([
      startControlPlane({
        nodeLifecycle: { monitorGracePeriodSeconds: GRACE_SECONDS, evictionRatePerSecond: 10 },
      }),
      startTestSimulator({
        hubName: HUB,
        evaluationIntervalMs: 200,
        devices: DEVICES.map((deviceId) => ({ deviceId, tags: { environment: "dev" } })),
      }),
    ]);
    standIns = await startStandInNodes(cluster, 3);
    app = await startLocalApp({
      hubs: [{ name: HUB, simulator }],
      functionKey: FUNCTION_KEY,
      releaseGraceSeconds: 2,
    });
    hub = createHubClient(simulator.iotHubConnectionString);
    const installed = await installChartForAdapters({
      cluster,
      dir,
      nodes: workloads.map((w) => ({ node: w.node, hub: HUB })),
      providerUrl: `${app.url}/api`,
      functionKey: FUNCTION_KEY,
    });
    for (const { node: nodeName, adapterArgs: args } of installed) {
      adapterArgs.set(nodeName, [...args, "--reconcile-interval-ms=2000"]);
      startAdapter(nodeName);
    }
    for (const w of workloads) {
      const yaml = sensorDeployment(IMAGE, w.replicas, { ...w, evictAfterSeconds: TOLERATION_SECONDS });
      await cluster.kubectl(["apply", "--filename=-"], yaml);
    }
    await allRunning();
    await eventually(devicesRunEverything, POLL);
  }, 300_000);

  afterAll(async () => {
    for (const adapter of adapters.values()) await adapter.terminate();
    await standIns?.stop();
    hub?.close();
    await app?.stop();
    await simulator?.stop();
    await cluster?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it("the Functions app stopped for longer than the pods' tolerations: nodes stay Ready, pods stay, devices keep running", async () => {
    const pods = uids(await allPods());
    const configurations = await hubConfigurations();
    const operations = hubOperations();
    await app.stopHost("SIGKILL");
    await eventually(async () => {
      const found = await node("vk-a");
      expect(condition(found, "ProviderReachable")).toMatchObject({
        status: "False",
        reason: "ProviderUnreachable",
      });
      expect(condition(found, "HubReachable")?.status).toBe("Unknown");
    }, POLL);
    await eventually(async () => {
      for (const pod of await allPods())
        expect(pod.status?.message).toContain("the connector's Functions app does not answer");
    }, POLL);
    await sleep(OUTLAST_EVICTION_MS);
    for (const { node: nodeName } of workloads) {
      const found = await node(nodeName);
      expect(condition(found, "Ready")?.status, nodeName).toBe("True");
      expect(evictionTaints(found), nodeName).toEqual([]);
    }
    const during = await allPods();
    expect(uids(during)).toEqual(pods);
    expect(during.filter((pod) => pod.metadata?.deletionTimestamp)).toEqual([]);
    devicesRunEverything();

    await app.startHost();
    await eventually(async () => {
      expect(condition(await node("vk-a"), "ProviderReachable")?.status).toBe("True");
    }, POLL);
    expect(uids(await allRunning())).toEqual(pods);
    expect(await hubConfigurations()).toEqual(configurations);
    expect(hubOperations()).toEqual(operations);
    await appMatchesCluster();
  });

  it("one adapter SIGKILLed and the other frozen (SIGSTOP) until their pods are evicted: the devices keep running, nothing is created or deleted on the hub", async () => {
    const old = uids(await allPods());
    const configurations = await hubConfigurations();
    const operations = hubOperations();
    adapters.get("vk-a")?.signal("SIGKILL");
    adapters.get("vk-b")?.signal("SIGSTOP");
    // both nodes go unreachable and every pod is evicted by the taint manager
    await eventually(async () => {
      for (const { node: nodeName } of workloads)
        expect(evictionTaints(await node(nodeName)).map((t) => t.key)).toContain(
          "node.kubernetes.io/unreachable",
        );
      const pods = await allPods();
      for (const pod of pods.filter((p) => old.includes(p.metadata?.uid))) {
        expect(pod.metadata?.deletionTimestamp, pod.metadata?.name).toBeDefined();
        expect(pod.status?.conditions?.find((c) => c.type === "DisruptionTarget")?.reason).toBe(
          "DeletionByTaintManager",
        );
      }
    }, POLL);
    devicesRunEverything();
    expect(await hubConfigurations()).toEqual(configurations);

    startAdapter("vk-a");
    adapters.get("vk-b")?.signal("SIGCONT");
    const replaced = await allRunning();
    expect(uids(replaced).filter((uid) => old.includes(uid))).toEqual([]);
    devicesRunEverything();
    expect(await hubConfigurations()).toEqual(configurations);
    expect(hubOperations()).toEqual(operations);
    await eventually(appMatchesCluster, POLL);
    // the replacements took over what the evicted pods' owners held
    for (const { node: nodeName } of workloads) expect(await holdsOf(nodeName), nodeName).toEqual([]);
  });

  it("the hub answering 429 and then 503 to everything for two minutes: nodes stay Ready, nothing is removed, a new pod says why it waits", async () => {
    const pods = uids(await allPods());
    const configurations = await hubConfigurations();
    const operations = hubOperations();
    const waiting = { name: "sensor-c", container: "sensorc", node: "vk-a", replicas: 1 };
    const nodesReady = async () => {
      for (const { node: nodeName } of workloads) {
        const found = await node(nodeName);
        expect(condition(found, "Ready")?.status, nodeName).toBe("True");
        expect(evictionTaints(found), nodeName).toEqual([]);
      }
    };
    const waitingMessage = async (pattern: RegExp) =>
      eventually(async () => {
        const [pod] = await podsOf(waiting.name);
        expect(pod?.status?.phase).toBe("Pending");
        expect(pod?.status?.message).toMatch(pattern);
      }, POLL);
    /** The rest of a minute of outage, checking the nodes as it goes. */
    const holdOutUntil = async (endMs: number) => {
      while (Date.now() < endMs) {
        await nodesReady();
        await sleep(5_000);
      }
    };

    const throttledAt = Date.now();
    simulator.faults.outage("throttled");
    await cluster.kubectl(
      ["apply", "--filename=-"],
      sensorDeployment(IMAGE, 1, { ...waiting, evictAfterSeconds: TOLERATION_SECONDS }),
    );
    await waitingMessage(/429/);
    await eventually(async () => {
      expect(condition(await node("vk-a"), "HubReachable")).toMatchObject({
        status: "True",
        reason: "HubThrottled",
      });
    }, POLL);
    await holdOutUntil(throttledAt + 60_000);

    simulator.faults.outage("unavailable");
    await waitingMessage(/the hub failed: .*(503|unavailable)/i);
    await eventually(async () => {
      expect(condition(await node("vk-a"), "HubReachable")).toMatchObject({
        status: "False",
        reason: "HubUnreachable",
      });
    }, POLL);
    await holdOutUntil(throttledAt + 120_000);
    expect(uids(await allPods())).toEqual(pods);
    devicesRunEverything();

    simulator.faults.outage(undefined);
    expect(await hubConfigurations()).toEqual(configurations);
    await eventually(
      async () => {
        await simulator.fleet.evaluateNow();
        const [pod] = await podsOf(waiting.name);
        expect(pod?.status?.phase, pod?.status?.message).toBe("Running");
      },
      { attempts: 300, intervalMs: 500 },
    );
    expect(hubOperations().deletes).toBe(operations.deletes);
    await allRunning();
  });

  it("orchestrations failing at each step, then a delete or update: after the sweep the hub holds exactly what the live pods want", async () => {
    const WIDER_TARGET = "tags.environment='dev' OR tags.environment='lab'";
    const cases = {
      /** a new pod: after `want`, before its first record; then the Deployment is deleted */
      newThenDeleted: "sweep-a",
      /** an update in place: after `want` of the new configuration, before its record; then left alone */
      updateBeforeRecord: "sweep-b",
      /** an update in place: the new configuration on the hub, before that is recorded; then deleted */
      updateOnHubThenDeleted: "sweep-c",
      /** a delete: before the pod's configurations are released */
      deleteBeforeRelease: "sweep-d",
      /** a delete: after the release, before the pod is forgotten */
      deleteBeforeForget: "sweep-e",
    } as const;
    const apply = (name: string) =>
      cluster.kubectl(
        ["apply", "--filename=-"],
        sensorDeployment(IMAGE, 1, { name, container: name.replace("-", ""), node: "vk-a" }),
      );
    const running = (name: string) =>
      eventually(async () => {
        await simulator.fleet.evaluateNow();
        const pods = (await podsOf(name)).filter((pod) => !pod.metadata?.deletionTimestamp);
        expect(pods).toHaveLength(1);
        expect(pods[0]?.status?.phase, pods[0]?.status?.message).toBe("Running");
        return pods[0] as V1Pod;
      }, POLL);
    const faults: ActivityFault[] = [];
    const inject = async (id: string, activity: string, inputContains: string[]) => {
      faults.push({ id, activity, inputContains, failures: ATTEMPTS });
      await writeFile(faultsFile, JSON.stringify(faults));
    };
    const record = (name: string, stage: string) => [`"name":"${name}-`, `"stage":"${stage}"`];
    const settled = Object.values(cases).filter((name) => name !== cases.newThenDeleted);
    for (const name of settled) await apply(name);
    for (const name of settled) await running(name);

    await inject("new", "podRecord", record(cases.newThenDeleted, "Scheduled"));
    await inject("update", "podRecord", [
      ...record(cases.updateBeforeRecord, "Scheduled"),
      "WaitingForHubBudget",
    ]);
    await inject("update-on-hub", "podRecord", [
      ...record(cases.updateOnHubThenDeleted, "Scheduled"),
      `"OnHub"`,
    ]);
    await inject("delete", "podRecord", record(cases.deleteBeforeRelease, "Deleting"));
    await inject("forget", "podForget", [`"name":"${cases.deleteBeforeForget}-`]);
    await apply(cases.newThenDeleted);
    for (const name of [cases.updateBeforeRecord, cases.updateOnHubThenDeleted]) {
      const [pod] = await podsOf(name);
      await cluster.kubectl([
        "annotate",
        "pod",
        pod?.metadata?.name ?? "",
        `iotedge.connector/target-condition=${WIDER_TARGET}`,
        "--overwrite",
      ]);
    }
    for (const name of [cases.deleteBeforeRelease, cases.deleteBeforeForget])
      await cluster.kubectl(["delete", "deployment", name, "--wait=false"]);
    // each orchestration fails once the Durable retries of its failing step are spent
    await eventually(() => {
      const failed = app.output.filter((line) => line.includes(`(${ATTEMPTS} of ${ATTEMPTS})`));
      expect(failed.length).toBeGreaterThanOrEqual(5);
    }, POLL);
    for (const name of [cases.newThenDeleted, cases.updateOnHubThenDeleted])
      await cluster.kubectl(["delete", "deployment", name, "--wait=false"]);

    await eventually(async () => {
      for (const name of settled.filter((name) => name !== cases.updateBeforeRecord))
        expect(await podsOf(name), name).toEqual([]);
      expect(await podsOf(cases.newThenDeleted)).toEqual([]);
      await simulator.fleet.evaluateNow();
      const [updated] = await podsOf(cases.updateBeforeRecord);
      expect(updated?.status?.phase, updated?.status?.message).toBe("Running");
      expect(updated?.metadata?.annotations?.["iotedge.connector/target-condition"]).toBe(WIDER_TARGET);
      await appMatchesCluster();
      const listed = (await Promise.all(workloads.map((w) => app.nodePods(HUB, w.node)))).flatMap(
        (l) => l.pods,
      );
      const live = [
        ...(await allPods()),
        ...(await podsOf("sensor-c")),
        ...(await podsOf(cases.updateBeforeRecord)),
      ];
      expect(listed.map((pod) => pod.uid).sort()).toEqual(uids(live));
      // nothing no pod wants, nothing wanted missing
      const wanted = [...new Set(listed.map((pod) => pod.configurationId))].sort();
      expect(await hubConfigurations()).toEqual(wanted);
    }, POLL);
  });
});
