// Issue 5 end to end with two virtual nodes on two hubs: one chart release with two nodes, an adapter
// process per node, one Functions app with both hubs in CONNECTOR_HUBS, and two IoT Hub simulators
// on different loopback addresses. A Deployment that selects a node by hostname lands on that
// node's hub and on no other; one Deployment spread over both nodes lands once on each hub, and
// scaling it touches no hub; the original connector's sample manifest runs unchanged.
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createHubClient } from "../../lib/hub/createHubClient.js";
import type { RunningSimulator } from "../../dev/simulator/simulator.js";
import { startControlPlane, type ControlPlane } from "../../dev/cluster/controlPlane.js";
import { startTestSimulator } from "../support/testSimulator.js";
import { startAdapterProcess } from "../../dev/connector/adapterProcess.js";
import { podsSelected, startLocalApp, type LocalApp } from "../../dev/connector/localApp.js";
import { eventually } from "./support/eventually.js";
import { installChartForAdapters } from "../../dev/connector/installedAdapter.js";

const POLL = { attempts: 300, intervalMs: 300 };
const SITES = [
  { hub: "factory-hub", node: "vk-factory", workload: "press-monitor" },
  { hub: "field-hub", node: "vk-field", workload: "pump-monitor" },
] as const;

function deploymentOn(node: string, workload: string): string {
  return `apiVersion: apps/v1
kind: Deployment
metadata:
  name: ${workload}
  namespace: default
spec:
  replicas: 2
  selector:
    matchLabels: { app: ${workload} }
  template:
    metadata:
      labels: { app: ${workload} }
      annotations:
        iotedge.connector/target-condition: "tags.environment='dev'"
    spec:
      nodeSelector: { kubernetes.io/hostname: ${node} }
      tolerations:
        - { key: virtual-kubelet.io/provider, operator: Equal, value: iotedge, effect: NoSchedule }
      containers:
        - name: monitor
          image: mcr.microsoft.com/azureiotedge-simulated-temperature-sensor:1.5
`;
}

/** One workload for the devices of every hub: its replicas spread evenly over the virtual nodes. */
function spreadDeployment(replicas: number): string {
  return `apiVersion: apps/v1
kind: Deployment
metadata:
  name: line-monitor
  namespace: default
spec:
  replicas: ${replicas}
  selector:
    matchLabels: { app: line-monitor }
  template:
    metadata:
      labels: { app: line-monitor }
      annotations:
        iotedge.connector/target-condition: "tags.environment='dev'"
    spec:
      nodeSelector: { type: virtual-kubelet }
      tolerations:
        - { key: virtual-kubelet.io/provider, operator: Equal, value: iotedge, effect: NoSchedule }
      topologySpreadConstraints:
        - maxSkew: 1
          topologyKey: kubernetes.io/hostname
          whenUnsatisfiable: DoNotSchedule
          labelSelector: { matchLabels: { app: line-monitor } }
      containers:
        - name: line-monitor
          image: mcr.microsoft.com/azureiotedge-simulated-temperature-sensor:1.5
`;
}

describe("two virtual nodes on two simulated hubs", { timeout: 240_000 }, () => {
  let cluster: ControlPlane;
  const simulators = new Map<string, RunningSimulator>();
  let app: LocalApp;
  const adapters: ReturnType<typeof startAdapterProcess>[] = [];
  let dir: string;

  const simulatorOf = (hub: string) => {
    const simulator = simulators.get(hub);
    if (!simulator) throw new Error(`no simulator for ${hub}`);
    return simulator;
  };
  /** Workloads of the configurations on a hub, by their k8s-workload label (the base deployment left out). */
  const workloadsOnHub = async (hub: string) => {
    const client = createHubClient(simulatorOf(hub).iotHubConnectionString);
    try {
      return (await client.listConfigurations())
        .filter((configuration) => configuration.labels?.["k8s-namespace"] === "default")
        .map((configuration) => configuration.labels?.["k8s-workload"] ?? "");
    } finally {
      client.close();
    }
  };

  beforeAll(async () => {
    dir = await mkdtemp(path.join(tmpdir(), "e2e-two-hubs-"));
    const started = await Promise.all([
      startControlPlane(),
      ...SITES.map(({ hub }) =>
        startTestSimulator({
          hubName: hub,
          evaluationIntervalMs: 200,
          devices: [1, 2].map((n) => ({
            deviceId: `${hub}-dev-${n}`,
            // the original connector's sample targets tags.building='b43'
            tags: { environment: "dev", ...(n === 1 && { building: "b43" }) },
          })),
        }),
      ),
    ]);
    cluster = started[0];
    for (const [index, { hub }] of SITES.entries())
      simulators.set(hub, started[index + 1] as RunningSimulator);
    app = await startLocalApp({
      hubs: SITES.map(({ hub }) => ({ name: hub, simulator: simulatorOf(hub) })),
      nodes: SITES.map(({ hub, node }) => ({ hub, node })),
      releaseGraceSeconds: 0,
    });
    const installed = await installChartForAdapters({
      cluster,
      dir,
      nodes: SITES.map(({ hub, node }) => ({ hub, node, key: app.node(node).key })),
      providerUrl: `${app.url}/api`,
    });
    for (const { adapterArgs } of installed) adapters.push(startAdapterProcess(adapterArgs));
  });

  afterAll(async () => {
    for (const adapter of adapters) await adapter.terminate();
    await app?.stop();
    for (const simulator of simulators.values()) await simulator.stop();
    await cluster?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it("the simulators listen on different loopback addresses", () => {
    const hosts = SITES.map(
      ({ hub }) => /HostName=([^;]+)/.exec(simulatorOf(hub).iotHubConnectionString)?.[1],
    );
    expect(new Set(hosts).size).toBe(2);
  });

  it("both nodes are Ready", async () => {
    await eventually(async () => {
      for (const { node } of SITES) {
        const { stdout } = await cluster.kubectl([
          "get",
          "node",
          node,
          '--output=jsonpath={.status.conditions[?(@.type=="Ready")].status}',
        ]);
        expect(stdout, node).toBe("True");
      }
    }, POLL);
  });

  it("each Deployment runs on its own node and its configuration is on that node's hub only", async () => {
    for (const { node, workload } of SITES)
      await cluster.kubectl(["apply", "--filename=-"], deploymentOn(node, workload));
    for (const { hub, node, workload } of SITES) {
      await eventually(async () => {
        await simulatorOf(hub).fleet.evaluateNow();
        const pods = await podsSelected(cluster, `app=${workload}`);
        expect(pods).toHaveLength(2);
        for (const pod of pods) {
          expect(pod.spec?.nodeName).toBe(node);
          expect(pod.status?.phase, pod.status?.message).toBe("Running");
          expect(pod.status?.message).toMatch(/running on 2\/2 devices/);
        }
      }, POLL);
    }
    for (const { hub, workload } of SITES) {
      const workloads = await workloadsOnHub(hub);
      expect(workloads, hub).toHaveLength(1);
      expect(workloads[0], hub).toMatch(new RegExp(`^${workload}-`)); // its ReplicaSet
      const { pods } = await app.nodePods(hub, SITES.find((site) => site.hub === hub)?.node ?? "");
      expect(pods.map((pod) => pod.name.replace(/-[^-]+-[^-]+$/, ""))).toEqual([workload, workload]);
    }
  });

  it("deleting one Deployment empties its hub and leaves the other hub's alone", async () => {
    const [removed, kept] = SITES;
    await cluster.kubectl(["delete", "deployment", removed.workload, "--wait=false"]);
    await eventually(async () => {
      expect(await podsSelected(cluster, `app=${removed.workload}`)).toEqual([]);
      expect(await workloadsOnHub(removed.hub)).toEqual([]);
    }, POLL);
    expect(await workloadsOnHub(kept.hub)).toHaveLength(1);
    const pods = await podsSelected(cluster, `app=${kept.workload}`);
    expect(pods.map((pod) => pod.status?.phase)).toEqual(["Running", "Running"]);
  });

  /** The ids of a workload's configurations on each hub, and each hub's create and delete counts. */
  const hubsOf = async (workload: string) =>
    Object.fromEntries(
      await Promise.all(
        SITES.map(async ({ hub }) => {
          const client = createHubClient(simulatorOf(hub).iotHubConnectionString);
          try {
            const ids = (await client.listConfigurations())
              .filter((configuration) => configuration.labels?.["k8s-workload"]?.startsWith(`${workload}-`))
              .map((configuration) => configuration.id);
            const { operations } = simulatorOf(hub).stats;
            return [
              hub,
              {
                ids,
                creates: operations.addOrUpdateConfiguration ?? 0,
                deletes: operations.removeConfiguration ?? 0,
              },
            ];
          } finally {
            client.close();
          }
        }),
      ),
    ) as Record<string, { ids: string[]; creates: number; deletes: number }>;
  const runningSpread = (replicas: number, perNode: readonly number[]) =>
    eventually(async () => {
      for (const { hub } of SITES) await simulatorOf(hub).fleet.evaluateNow();
      const pods = await podsSelected(cluster, "app=line-monitor");
      expect(pods).toHaveLength(replicas);
      for (const pod of pods) expect(pod.status?.phase, pod.status?.message).toBe("Running");
      const counts = SITES.map(({ node }) => pods.filter((pod) => pod.spec?.nodeName === node).length);
      expect(counts.sort()).toEqual([...perNode].sort());
    }, POLL);

  it("one Deployment spread over both nodes lands one configuration on each hub; scaling touches no hub that keeps a replica", async () => {
    await cluster.kubectl(["apply", "--filename=-"], spreadDeployment(2));
    await runningSpread(2, [1, 1]);
    const spread = await hubsOf("line-monitor");
    for (const { hub } of SITES) expect(spread[hub]?.ids, hub).toHaveLength(1);

    await cluster.kubectl(["scale", "deployment", "line-monitor", "--replicas=4"]);
    await runningSpread(4, [2, 2]);
    expect(await hubsOf("line-monitor")).toEqual(spread);

    await cluster.kubectl(["scale", "deployment", "line-monitor", "--replicas=1"]);
    await runningSpread(1, [0, 1]);
    const [pod] = await podsSelected(cluster, "app=line-monitor");
    const keeps = SITES.find(({ node }) => node === pod?.spec?.nodeName);
    const empties = SITES.find(({ node }) => node !== pod?.spec?.nodeName);
    if (!keeps || !empties) throw new Error("the remaining replica is on neither node");
    await eventually(async () => expect((await hubsOf("line-monitor"))[empties.hub]?.ids).toEqual([]), POLL);
    // the hub that kept a replica saw no operation at all
    expect((await hubsOf("line-monitor"))[keeps.hub]).toEqual(spread[keeps.hub]);
    await cluster.kubectl(["delete", "deployment", "line-monitor"]);
  });

  it("the original connector's sample manifest runs unchanged on the devices it targets", async () => {
    const sample = await readFile(
      path.resolve(import.meta.dirname, "../translate/corpus/legacy-original-sample.yaml"),
      "utf8",
    );
    await cluster.kubectl(["apply", "--filename=-"], sample);
    await eventually(async () => {
      for (const { hub } of SITES) await simulatorOf(hub).fleet.evaluateNow();
      const pods = await podsSelected(cluster, "app=tempSensor");
      expect(pods).toHaveLength(1);
      expect(pods[0]?.status?.phase, pods[0]?.status?.message).toBe("Running");
      // tags.building='b43': one device of the node's hub
      expect(pods[0]?.status?.message).toMatch(/running on 1\/1 device\b/);
    }, POLL);
    const [pod] = await podsSelected(cluster, "app=tempSensor");
    const site = SITES.find(({ node }) => node === pod?.spec?.nodeName);
    if (!site) throw new Error("the sample's pod is on neither virtual node");
    const client = createHubClient(simulatorOf(site.hub).iotHubConnectionString);
    try {
      const sampleConfigurations = (await client.listConfigurations()).filter((configuration) =>
        configuration.labels?.["k8s-workload"]?.startsWith("tempsensor-"),
      );
      expect(sampleConfigurations).toHaveLength(1);
      expect(sampleConfigurations[0]?.targetCondition).toBe("tags.building='b43'");
      expect(sampleConfigurations[0]?.priority).toBe(15);
    } finally {
      client.close();
    }
  });
});
