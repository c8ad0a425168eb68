// The whole chain with nothing standing in: kubectl → real control plane → the adapter (with the
// chart's RBAC) → the Functions app's own registrations on the local host (Azurite for durable
// state) → the IoT Hub simulator's edge devices, and back to `kubectl get pods` and `kubectl logs`.
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import type { V1Pod } from "@kubernetes/client-node";
import { pino } from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { readAdapterConfig } from "../../lib/adapter/config.js";
import { startAdapter, type RunningAdapter } from "../../lib/adapter/startAdapter.js";
import { hubSettingNames } from "../../lib/app/settings.js";
import { createHubClient } from "../../lib/hub/createHubClient.js";
import type { NodePodsResponse } from "../../lib/provider/providerContract.js";
import type { RunningSimulator } from "../../dev/simulator/simulator.js";
import { startControlPlane, type ControlPlane } from "../../dev/cluster/controlPlane.js";
import { startLocalAzurite, type LocalAzurite } from "../../dev/localAzurite.js";
import { startHostProcess, type HostProcess } from "../../dev/host/hostProcess.js";
import { startTestSimulator } from "../support/testSimulator.js";
import { eventually } from "./support/eventually.js";
import { installChartForAdapter } from "../../dev/connector/installedAdapter.js";
import { localNodes, localNodeSettings, type LocalNode } from "../../dev/connector/localNodes.js";
import { sensorDeployment } from "./support/sensorDeployment.js";

const root = path.resolve(import.meta.dirname, "../..");
const HUB = "hub1";
const NODE = "vk-app";
const [registered] = localNodes([{ node: NODE, hub: HUB }]) as [LocalNode];

const deployment = sensorDeployment("mcr.microsoft.com/azureiotedge-simulated-temperature-sensor:1.5", 2);

describe("adapter with the real Functions app, local host and simulator", { timeout: 180_000 }, () => {
  let cluster: ControlPlane;
  let azurite: LocalAzurite;
  let simulator: RunningSimulator;
  let host: HostProcess;
  let adapter: RunningAdapter | undefined;
  let dir: string;

  const sensorPods = async () =>
    (
      JSON.parse(
        (await cluster.kubectl(["get", "pods", "--selector=app=temperature-sensor", "--output=json"])).stdout,
      ) as { items: V1Pod[] }
    ).items;

  const nodePods = async () => {
    const response = await fetch(`${host.url}/api/v1/hubs/${HUB}/nodes/${NODE}/pods`, {
      headers: { "x-functions-key": registered.key },
    });
    return (await response.json()) as NodePodsResponse;
  };

  beforeAll(async () => {
    dir = await mkdtemp(path.join(tmpdir(), "adapter-app-"));
    [cluster, azurite, simulator] = await Promise.all([
      startControlPlane(),
      startLocalAzurite(),
      startTestSimulator({
        hubName: HUB,
        evaluationIntervalMs: 200,
        devices: [1, 2, 3].map((n) => ({ deviceId: `dev-${n}`, tags: { environment: "dev" } })),
      }),
    ]);
    const names = hubSettingNames(HUB);
    host = await startHostProcess({
      appDir: root,
      entry: "functions/*.ts",
      env: {
        ...localNodeSettings([registered]),
        LOCAL_HOST_MASTER_KEY: "adapter-app-test-master-key",
        AzureWebJobsStorage: azurite.connectionString,
        CONNECTOR_HUBS: HUB,
        CONFIGURATION_RELEASE_GRACE_SECONDS: "0",
        [names.connection]: simulator.iotHubConnectionString,
        [names.eventsConnection]: simulator.eventHubConnectionString,
        [names.eventsName]: HUB,
        // edge devices run layered deployments only on top of a base deployment
        [names.baseDeployment]: "true",
      },
    });
    const { adapterArgs } = await installChartForAdapter({
      cluster,
      dir,
      node: NODE,
      hub: HUB,
      providerUrl: `${host.url}/api`,
      key: registered.key,
    });
    adapter = await startAdapter(
      readAdapterConfig({}, adapterArgs),
      pino({ level: process.env.ADAPTER_TEST_LOG ?? "silent" }),
    );
  });

  afterAll(async () => {
    await adapter?.stop();
    await host?.stop();
    await simulator?.stop();
    await azurite?.stop();
    await cluster?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it("the node is Ready with the hub's devices counted", async () => {
    const node = JSON.parse((await cluster.kubectl(["get", "node", NODE, "--output=json"])).stdout) as {
      status: { conditions: { type: string; status: string }[] };
    };
    expect(node.status.conditions.find((c) => c.type === "Ready")?.status).toBe("True");
  });

  it("a Deployment's replicas run on the edge devices and kubectl get pods shows them Running", async () => {
    await cluster.kubectl(["apply", "--filename=-"], deployment);
    const pods = await eventually(
      async () => {
        await simulator.fleet.evaluateNow();
        const items = await sensorPods();
        expect(items).toHaveLength(2);
        for (const pod of items) {
          expect(pod.status?.phase, pod.status?.message).toBe("Running");
          // Running comes with the first device; ready waits for every device that applied it
          expect(pod.status?.containerStatuses?.[0], pod.status?.message).toMatchObject({
            name: "sensor",
            ready: true,
          });
        }
        return items;
      },
      { attempts: 200, intervalMs: 300 },
    );
    expect(pods).toHaveLength(2);
    const table = (await cluster.kubectl(["get", "pods", "--selector=app=temperature-sensor"])).stdout;
    expect(table).toMatch(/1\/1\s+Running/);
  });

  it("kubectl logs returns the module's lines from a device", async () => {
    const [pod] = await sensorPods();
    const { stdout } = await cluster.kubectl(["logs", pod?.metadata?.name ?? "", "--tail=3"]);
    const lines = stdout.trimEnd().split("\n");
    expect(lines.length).toBeGreaterThan(0);
    expect(lines.length).toBeLessThanOrEqual(3);
  });

  it("deleting the Deployment removes its pods from the cluster and its deployment from the hub", async () => {
    const hubClient = createHubClient(simulator.iotHubConnectionString);
    const sensorConfigurations = async () => {
      const { pods } = await nodePods();
      return [
        ...new Set(
          pods.filter((pod) => pod.name.startsWith("temperature-sensor")).map((pod) => pod.configurationId),
        ),
      ];
    };
    const [configurationId] = await sensorConfigurations();
    if (!configurationId) throw new Error("expected the replicas' configuration");
    expect(await sensorConfigurations()).toEqual([configurationId]); // the replicas share one
    expect((await hubClient.listConfigurations()).map((c) => c.id)).toContain(configurationId);
    await cluster.kubectl(["delete", "deployment", "temperature-sensor", "--wait=false"]);
    await eventually(async () => expect(await sensorPods()).toEqual([]), { attempts: 300, intervalMs: 300 });
    await eventually(
      async () => {
        expect(await sensorConfigurations()).toEqual([]);
        expect((await hubClient.listConfigurations()).map((c) => c.id)).not.toContain(configurationId);
      },
      { attempts: 300, intervalMs: 300 },
    );
    hubClient.close();
  });
});
