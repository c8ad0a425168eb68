// Issue 5 end to end with two virtual nodes on two hubs: one chart release with two nodes, an adapter
// process per node, one Functions app with both hubs in CONNECTOR_HUBS, and two IoT Hub simulators
// on different loopback addresses. A Deployment that selects a node by hostname lands on that
// node's hub and on no other.
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createHubClient } from "../../lib/hub/createHubClient.js";
import type { RunningSimulator } from "../../dev/simulator/simulator.js";
import { startControlPlane, type ControlPlane } from "../../dev/cluster/controlPlane.js";
import { startTestSimulator } from "../support/testSimulator.js";
import { startAdapterProcess } from "./support/adapterProcess.js";
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
          devices: [1, 2].map((n) => ({ deviceId: `${hub}-dev-${n}`, tags: { environment: "dev" } })),
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
});
