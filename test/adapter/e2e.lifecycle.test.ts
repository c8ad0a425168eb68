// Issue 5 end to end, a Deployment's whole life on one virtual node with nothing standing in but
// the hub: `helm install`, the adapter as its own process with the chart's ServiceAccount token,
// the Functions app on the local host, the IoT Hub simulator's edge devices. Every step is driven
// with kubectl and checked where a user would look (kubectl get / describe) and on the hub itself.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { HubClient } from "../../lib/hub/hubClient.js";
import { rolloutOperations } from "../../lib/rollout/rolloutStage.js";
import type { RunningSimulator } from "../../dev/simulator/simulator.js";
import type { ControlPlane } from "../../dev/cluster/controlPlane.js";
import { startConnectorStack, type ConnectorStack } from "../../dev/connector/connectorStack.js";
import { startTestSimulator } from "../support/testSimulator.js";
import { podsSelected, type LocalApp } from "../../dev/connector/localApp.js";
import { eventually } from "./support/eventually.js";
import { sensorDeployment } from "./support/sensorDeployment.js";

const HUB = "hub1";
const NODE = "vk-e2e";
const SELECTOR = "app=temperature-sensor";
const POLL = { attempts: 300, intervalMs: 300 };

const IMAGE_1 = "mcr.microsoft.com/azureiotedge-simulated-temperature-sensor:1.5";
const IMAGE_2 = "mcr.microsoft.com/azureiotedge-simulated-temperature-sensor:1.5.1";
const IMAGE_3 = "mcr.microsoft.com/azureiotedge-simulated-temperature-sensor:1.5.2";

describe("a Deployment's life on a virtual node, end to end", { timeout: 240_000 }, () => {
  let cluster: ControlPlane;
  let simulator: RunningSimulator;
  let app: LocalApp;
  let hub: HubClient;
  let stack: ConnectorStack | undefined;

  const sensorPods = () => podsSelected(cluster, SELECTOR);
  /** The workload's configurations on the hub (the app's base deployment left out). */
  const hubWorkloadConfigurations = async () =>
    (await hub.listConfigurations())
      .filter((configuration) => configuration.labels?.["k8s-namespace"] === "default")
      .map((configuration) => configuration.id)
      .sort();
  const podConfigurations = async () =>
    [...new Set((await app.nodePods(HUB, NODE)).pods.map((pod) => pod.configurationId))].sort();
  const hubOperations = () => ({
    creates: simulator.stats.operations.addOrUpdateConfiguration ?? 0,
    deletes: simulator.stats.operations.removeConfiguration ?? 0,
  });
  const allRunning = (replicas: number, image: string) =>
    eventually(async () => {
      await simulator.fleet.evaluateNow();
      const pods = await sensorPods();
      expect(pods).toHaveLength(replicas);
      for (const pod of pods) {
        expect(pod.spec?.containers[0]?.image).toBe(image);
        expect(pod.status?.phase, pod.status?.message).toBe("Running");
        expect(pod.status?.containerStatuses?.[0]?.ready).toBe(true);
      }
      return pods;
    }, POLL);

  beforeAll(async () => {
    simulator = await startTestSimulator({
      hubName: HUB,
      evaluationIntervalMs: 200,
      devices: [1, 2, 3].map((n) => ({ deviceId: `dev-${n}`, tags: { environment: "dev" } })),
    });
    stack = await startConnectorStack({ simulator, hub: HUB, node: NODE });
    ({ cluster, app, hub } = stack);
    await eventually(async () => {
      const { stdout } = await cluster.kubectl([
        "get",
        "node",
        NODE,
        "--output=jsonpath={.status.conditions}",
      ]);
      expect(stdout).toMatch(/"type":"Ready"[^}]*"status":"True"|"status":"True"[^}]*"type":"Ready"/);
    }, POLL);
  });

  afterAll(async () => {
    await stack?.stop();
    await simulator?.stop();
  });

  it("kubectl describe pod shows the Submitted and Applied events of a running pod", async () => {
    await cluster.kubectl(["apply", "--filename=-"], sensorDeployment(IMAGE_1, 1));
    const [pod] = await allRunning(1, IMAGE_1);
    const name = pod?.metadata?.name ?? "";
    const described = await eventually(async () => {
      const { stdout } = await cluster.kubectl(["describe", "pod", name]);
      expect(stdout).toMatch(/Normal\s+Submitted\s+.*iot-edge-connector/);
      expect(stdout).toMatch(/Normal\s+Applied\s+.*applied on 3 of 3 targeted devices/);
      return stdout;
    }, POLL);
    expect(described).toMatch(/Status:\s+Running/);
  });

  it("a module crashing on one device puts the device and the module in the pod's status", async () => {
    simulator.fleet.injectFault("dev-2", "sensor", "crash");
    const [failing] = await eventually(async () => {
      await simulator.fleet.evaluateNow();
      const pods = await sensorPods();
      expect(pods[0]?.status?.message).toMatch(/1 failed: sensor .* on dev-2/);
      return pods;
    }, POLL);
    const container = failing?.status?.containerStatuses?.[0];
    expect(container?.name).toBe("sensor");
    const state = container?.state?.waiting ?? container?.state?.terminated;
    expect(state?.message).toContain("(on dev-2)");
    expect(container?.ready).toBe(false);
    const { stdout } = await cluster.kubectl(["describe", "pod", failing?.metadata?.name ?? ""]);
    expect(stdout).toMatch(/Warning\s+DeviceFailed\s+.*dev-2/);

    simulator.fleet.clearFault("dev-2", "sensor");
    await allRunning(1, IMAGE_1);
  });

  it("scaling to 3 replicas and back to 1 shares one configuration: nothing is created or deleted on the hub", async () => {
    const [configurationId] = await hubWorkloadConfigurations();
    const before = hubOperations();
    await cluster.kubectl(["scale", "deployment/temperature-sensor", "--replicas=3"]);
    await allRunning(3, IMAGE_1);
    expect(await podConfigurations()).toEqual([configurationId]);
    await cluster.kubectl(["scale", "deployment/temperature-sensor", "--replicas=1"]);
    await eventually(async () => expect(await sensorPods()).toHaveLength(1), POLL);
    await eventually(async () => expect((await app.nodePods(HUB, NODE)).pods).toHaveLength(1), POLL);
    expect(await hubWorkloadConfigurations()).toEqual([configurationId]);
    expect(hubOperations()).toEqual(before);
  });

  it("a new image creates a new configuration, the pods move to it, and the old one is deleted after the grace", async () => {
    const [oldConfiguration] = await hubWorkloadConfigurations();
    const before = hubOperations();
    await cluster.kubectl(["set", "image", "deployment/temperature-sensor", `sensor=${IMAGE_2}`]);
    await allRunning(1, IMAGE_2);
    const [newConfiguration] = await eventually(async () => {
      const ids = await podConfigurations();
      expect(ids).toHaveLength(1);
      expect(ids).not.toEqual([oldConfiguration]);
      return ids;
    }, POLL);
    await eventually(async () => expect(await hubWorkloadConfigurations()).toEqual([newConfiguration]), POLL);
    expect(hubOperations()).toEqual({ creates: before.creates + 1, deletes: before.deletes + 1 });
  });

  it("restarting the adapter in the middle of a rollout loses and duplicates nothing", async () => {
    const before = hubOperations();
    await cluster.kubectl(["scale", "deployment/temperature-sensor", "--replicas=3"]);
    await allRunning(3, IMAGE_2);
    await cluster.kubectl(["set", "image", "deployment/temperature-sensor", `sensor=${IMAGE_3}`]);
    // the rollout has begun: a pod of the new ReplicaSet is bound to the node
    await eventually(async () => {
      const pods = await sensorPods();
      expect(
        pods.some((pod) => pod.spec?.containers[0]?.image === IMAGE_3 && pod.spec.nodeName === NODE),
      ).toBe(true);
    }, POLL);
    const stopped = await stack!.adapter.terminate();
    expect(stopped.code).toBe(0);
    stack!.startAdapter();

    const pods = await allRunning(3, IMAGE_3);
    expect(new Set(pods.map((pod) => pod.metadata?.name)).size).toBe(3);
    const [configurationId] = await eventually(async () => {
      const ids = await hubWorkloadConfigurations();
      expect(ids).toHaveLength(1);
      expect(await podConfigurations()).toEqual(ids);
      return ids;
    }, POLL);
    expect(configurationId).toBeDefined();
    const providerPods = (await app.nodePods(HUB, NODE)).pods.map((pod) => pod.name).sort();
    expect(providerPods).toEqual(pods.map((pod) => pod.metadata?.name).sort());
    // Staged (the default): one replacement created and moved in place through its stages (3
    // replicas, one new at a time: 34 % and 67 %, then the whole scope), the one it replaced
    // deleted; within the staged budget, so no duplicate work reached the hub
    const after = hubOperations();
    expect(after.deletes).toBe(before.deletes + 1);
    expect(after.creates + after.deletes - before.creates - before.deletes).toBeLessThanOrEqual(
      rolloutOperations(2),
    );
  });

  it("deleting the Deployment removes its pods and its configuration from the hub", async () => {
    await cluster.kubectl(["delete", "deployment", "temperature-sensor", "--wait=false"]);
    await eventually(async () => expect(await sensorPods()).toEqual([]), POLL);
    await eventually(async () => {
      expect((await app.nodePods(HUB, NODE)).pods).toEqual([]);
      expect(await hubWorkloadConfigurations()).toEqual([]);
    }, POLL);
  });
});
