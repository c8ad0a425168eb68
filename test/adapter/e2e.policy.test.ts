// The fleet policy end to end, on the real control plane: the chart installed, the adapter as its
// own process, the Functions app on the local host with FLEET_POLICY, the simulator's edge devices
// on two sites. The adapter first runs without a policy of its own, so every refusal here is the
// app's (it holds the hub's rights); then with the chart's copy, which refuses before sending.
import type { V1Pod } from "@kubernetes/client-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { HubClient } from "../../lib/hub/hubClient.js";
import { parseFleetPolicy } from "../../lib/policy/fleetPolicy.js";
import type { RunningSimulator } from "../../dev/simulator/simulator.js";
import type { ControlPlane } from "../../dev/cluster/controlPlane.js";
import { startConnectorStack, type ConnectorStack } from "../../dev/connector/connectorStack.js";
import type { LocalApp } from "../../dev/connector/localApp.js";
import { startTestSimulator } from "../support/testSimulator.js";
import { eventually } from "./support/eventually.js";

const HUB = "hub1";
const NODE = "vk-policy";
const POLL = { attempts: 300, intervalMs: 300 };
const IMAGE = "mcr.microsoft.com/azureiotedge-simulated-temperature-sensor:1.5";

const FLEET_POLICY = `
nodes:
  ${NODE}:
    namespaces:
      line-a:
        scope: "tags.site = 'plant-a'"
      plant-ops:
        grants: [privileged]
`;

/** A Deployment on the virtual node; its one container is also its module's name. */
function deployment(options: { name: string; namespace: string; privileged?: boolean }): string {
  return `apiVersion: apps/v1
kind: Deployment
metadata: { name: ${options.name}, namespace: ${options.namespace} }
spec:
  replicas: 1
  selector: { matchLabels: { app: ${options.name} } }
  template:
    metadata:
      labels: { app: ${options.name} }
      annotations:
        iotedge.connector/target-condition: "tags.line = '1'"
    spec:
      nodeSelector: { type: virtual-kubelet }
      tolerations:
        - { key: virtual-kubelet.io/provider, operator: Equal, value: iotedge, effect: NoSchedule }
      containers:
        - name: ${options.name}
          image: ${IMAGE}
          ${options.privileged ? "securityContext: { privileged: true }" : ""}
`;
}

describe("the fleet policy on a real control plane", { timeout: 180_000 }, () => {
  let cluster: ControlPlane;
  let simulator: RunningSimulator;
  let app: LocalApp;
  let hub: HubClient;
  let stack: ConnectorStack | undefined;

  const podOf = async (namespace: string, app: string): Promise<V1Pod | undefined> => {
    const args = ["get", "pods", `--namespace=${namespace}`, `--selector=app=${app}`, "--output=json"];
    return (JSON.parse((await cluster.kubectl(args)).stdout) as { items: V1Pod[] }).items[0];
  };
  const settled = (namespace: string, name: string, phase: "Running" | "Failed") =>
    eventually(async () => {
      await simulator.fleet.evaluateNow();
      const pod = await podOf(namespace, name);
      expect(pod?.status?.phase, pod?.status?.message).toBe(phase);
      return pod!;
    }, POLL);
  /** Running, and (the rollout goes on after the first device) the message once every device runs it. */
  const runningOn = async (namespace: string, name: string, message: string) => {
    await settled(namespace, name, "Running");
    return eventually(async () => {
      await simulator.fleet.evaluateNow();
      const pod = await podOf(namespace, name);
      expect(pod?.status?.message).toBe(message);
      return pod!;
    }, POLL);
  };
  const described = (namespace: string, name: string) =>
    cluster.kubectl(["describe", "pod", `--namespace=${namespace}`, name]).then((out) => out.stdout);

  beforeAll(async () => {
    simulator = await startTestSimulator({
      hubName: HUB,
      evaluationIntervalMs: 200,
      devices: [
        { deviceId: "dev-a1", tags: { site: "plant-a", line: "1" } },
        { deviceId: "dev-a2", tags: { site: "plant-a", line: "1" } },
        { deviceId: "dev-b1", tags: { site: "plant-b", line: "1" } },
      ],
    });
    stack = await startConnectorStack({
      simulator,
      hub: HUB,
      node: NODE,
      appEnv: { FLEET_POLICY },
      namespaces: ["line-a", "plant-ops", "outsider"],
    });
    ({ cluster, app, hub } = stack);
  });

  afterAll(async () => {
    await stack?.stop();
    await simulator?.stop();
  });

  it("a namespace with a scope lands only on its devices", async () => {
    await cluster.kubectl(["apply", "--filename=-"], deployment({ name: "scoped", namespace: "line-a" }));
    await runningOn("line-a", "scoped", "running on 2/2 devices");
    const configuration = (await hub.listConfigurations()).find(
      (c) => c.labels?.["k8s-namespace"] === "line-a",
    );
    expect(configuration?.targetCondition).toBe("tags.site = 'plant-a' AND tags.line = '1'");
    const running: string[] = [];
    const query =
      "SELECT deviceId FROM devices.modules WHERE moduleId = '$edgeAgent' AND properties.reported.modules.scoped.runtimeStatus = 'running'";
    for await (const page of hub.queryTwins(query)) running.push(...page.map((twin) => twin.deviceId));
    expect(running.sort()).toEqual(["dev-a1", "dev-a2"]);
  });

  it("a pod from a namespace the node does not serve is Failed with the reason and an Event", async () => {
    await cluster.kubectl(["apply", "--filename=-"], deployment({ name: "stranger", namespace: "outsider" }));
    const pod = await settled("outsider", "stranger", "Failed");
    expect(pod.status?.reason).toBe("NamespaceNotAllowed");
    expect(pod.status?.message).toContain(
      `refused by the fleet policy of node ${NODE}: metadata.namespace: namespace outsider may not use node ${NODE}`,
    );
    const text = await eventually(async () => {
      const out = await described("outsider", pod.metadata!.name!);
      expect(out).toMatch(/Warning\s+NamespaceNotAllowed\s+.*refused by the fleet policy/);
      return out;
    }, POLL);
    expect(text).toMatch(/Status:\s+Failed/);
    expect((await hub.listConfigurations()).some((c) => c.labels?.["k8s-namespace"] === "outsider")).toBe(
      false,
    );
  });

  it("a privileged pod is refused, while the same pod in a namespace granted privileged runs", async () => {
    await cluster.kubectl(
      ["apply", "--filename=-"],
      deployment({ name: "can-bus", namespace: "line-a", privileged: true }),
    );
    await cluster.kubectl(
      ["apply", "--filename=-"],
      deployment({ name: "can-bus", namespace: "plant-ops", privileged: true }),
    );
    const refused = await settled("line-a", "can-bus", "Failed");
    expect(refused.status?.reason).toBe("PolicyViolation");
    expect(refused.status?.message).toContain(
      "spec.containers[0].securityContext.privileged: a privileged container has the whole device",
    );
    expect(refused.status?.message).toContain("namespace line-a is not granted privileged");
    const granted = await runningOn("plant-ops", "can-bus", "running on 3/3 devices");
    expect(granted.status?.phase).toBe("Running");
  });

  it("with the chart's copy of the policy, the adapter refuses before the pod reaches the app", async () => {
    await stack!.adapter.terminate();
    const nodePolicy = JSON.stringify(parseFleetPolicy(FLEET_POLICY).nodes[NODE]);
    stack!.startAdapter([`--fleet-policy=${nodePolicy}`]);
    await cluster.kubectl(
      ["apply", "--filename=-"],
      deployment({ name: "early", namespace: "line-a", privileged: true }),
    );
    const pod = await settled("line-a", "early", "Failed");
    expect(pod.status?.reason).toBe("PolicyViolation");
    await eventually(async () => {
      expect(await described("line-a", pod.metadata!.name!)).toMatch(
        /Warning\s+PolicyViolation\s+.*privileged/,
      );
    }, POLL);
    // the app never saw it: its pod list of the node has no such pod
    expect((await app.nodePods(HUB, NODE)).pods.map((p) => p.name)).not.toContain(pod.metadata!.name);
  });
});
