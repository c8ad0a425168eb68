// The adapter against a real control plane, with the RBAC of its Helm chart: the chart is installed,
// the adapter runs in-process with a token of the chart's ServiceAccount, and the provider is the
// contract stand-in (test/adapter/support/contractProvider.ts) until the Functions app lands.
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { KubeConfig, type V1Lease, type V1Node, type V1Pod } from "@kubernetes/client-node";
import { pino } from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { readAdapterConfig, type AdapterConfig } from "../../lib/adapter/config.js";
import { startAdapter, type RunningAdapter } from "../../lib/adapter/startAdapter.js";
import { CommandFailedError } from "../../dev/cluster/commands.js";
import { freePort } from "../../dev/cluster/network.js";
import { startControlPlane, type ControlPlane } from "../../dev/cluster/controlPlane.js";
import { ContractProvider } from "./support/contractProvider.js";
import type { PutPodRequest } from "../../lib/provider/providerContract.js";
import { eventually } from "./support/eventually.js";
import { startAdapterProcess } from "../../dev/connector/adapterProcess.js";
import { installChartForAdapter } from "../../dev/connector/installedAdapter.js";

const NODE = "vk-e2e";
const FUNCTION_KEY = "test-function-key-not-a-secret";
const deploymentYaml = new URL("../fixtures/temperature-sensor-deployment.yaml", import.meta.url);

/** A bare pod bound to the virtual node; `podSpec` and `container` are extra YAML lines for each. */
function podYaml(name: string, extra: { podSpec?: string[]; container?: string[] } = {}): string {
  return [
    "apiVersion: v1",
    "kind: Pod",
    "metadata:",
    `  name: ${name}`,
    "  namespace: default",
    "spec:",
    `  nodeName: ${NODE}`,
    "  tolerations:",
    "    - { key: virtual-kubelet.io/provider, operator: Equal, value: iotedge, effect: NoSchedule }",
    ...(extra.podSpec ?? []).map((line) => `  ${line}`),
    "  containers:",
    "    - name: sensor",
    "      image: mcr.microsoft.com/azureiotedge-simulated-temperature-sensor:1.5",
    ...(extra.container ?? []).map((line) => `      ${line}`),
    "",
  ].join("\n");
}

describe("adapter on a real control plane, with the chart's RBAC", () => {
  let cluster: ControlPlane;
  let provider: ContractProvider;
  let adapter: RunningAdapter | undefined;
  let config: AdapterConfig;
  let processArgs: string[];
  let adapterProcess: ReturnType<typeof startAdapterProcess> | undefined;
  let dir: string;
  const logger = pino({ level: process.env.ADAPTER_TEST_LOG ?? "silent" });

  const kubectlJson = async <T>(args: string[]): Promise<T> =>
    JSON.parse((await cluster.kubectl([...args, "--output=json"])).stdout) as T;

  beforeAll(async () => {
    dir = await mkdtemp(path.join(tmpdir(), "adapter-e2e-"));
    [cluster, provider] = await Promise.all([startControlPlane(), ContractProvider.start(FUNCTION_KEY)]);
    ({ adapterArgs: processArgs } = await installChartForAdapter({
      cluster,
      dir,
      node: NODE,
      hub: "hub1",
      providerUrl: provider.baseUrl,
      key: FUNCTION_KEY,
    }));
    config = readAdapterConfig({}, processArgs);
    adapter = await startAdapter(config, logger);
  });

  afterAll(async () => {
    await adapterProcess?.terminate();
    await adapter?.stop();
    await provider?.stop();
    await cluster?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it("registers its node: labels, taint, capacity and conditions from the provider, Ready, InternalIP and kubelet port", async () => {
    const node = await kubectlJson<V1Node>(["get", "node", NODE]);
    expect(node.metadata?.labels).toMatchObject({ type: "virtual-kubelet", "kubernetes.io/role": "agent" });
    expect(node.spec?.taints).toEqual([
      { key: "virtual-kubelet.io/provider", value: "iotedge", effect: "NoSchedule" },
    ]);
    expect(node.status?.capacity).toMatchObject({ pods: "100", cpu: "8", memory: "16Gi" });
    expect(node.status?.addresses).toEqual([{ type: "InternalIP", address: "127.0.0.1" }]);
    expect(node.status?.daemonEndpoints?.kubeletEndpoint?.Port).toBe(config.kubeletPort);
    const condition = (type: string) => node.status?.conditions?.find((c) => c.type === type);
    expect(condition("Ready")).toMatchObject({ status: "True", reason: "KubeletReady" });
    expect(condition("ProviderReachable")).toMatchObject({ status: "True", reason: "ProviderAnswers" });
    expect(condition("HubReachable")).toMatchObject({ status: "True", reason: "HubReachable" });
  });

  it("renews its Lease in kube-node-lease", async () => {
    const renewTime = async () =>
      (await kubectlJson<V1Lease>(["--namespace=kube-node-lease", "get", "lease", NODE])).spec?.renewTime;
    const first = await eventually(async () => {
      const time = await renewTime();
      if (!time) throw new Error("no lease yet");
      return String(time);
    });
    await eventually(async () => expect(String(await renewTime())).not.toBe(first));
  });

  it("sends the pods the scheduler binds to it and writes their status back", async () => {
    await cluster.kubectl(["apply", "--filename=-"], await readFile(deploymentYaml, "utf8"));
    await eventually(() => expect(provider.pods.size).toBe(2));
    const put = provider.callsTo("pod", "PUT")[0];
    expect(put?.body).toMatchObject({ node: NODE, resolved: { configMaps: {}, secrets: {} } });
    const pods = await eventually(async () => {
      const list = await kubectlJson<{ items: V1Pod[] }>([
        "get",
        "pods",
        "--selector=app=temperature-sensor",
      ]);
      for (const pod of list.items) expect(pod.status?.phase).toBe("Running");
      expect(list.items).toHaveLength(2);
      return list.items;
    });
    expect(pods[0]?.status?.containerStatuses?.[0]).toMatchObject({ name: "sensor", ready: true });
    expect(pods[0]?.status?.hostIP).toBe("127.0.0.1");
    const table = (await cluster.kubectl(["get", "pods", "--selector=app=temperature-sensor"])).stdout;
    expect(table).toMatch(/1\/1\s+Running/);
    const events = await eventually(async () => {
      const text = (await cluster.kubectl(["describe", "pod", pods[0]?.metadata?.name ?? ""])).stdout;
      expect(text).toContain("Submitted");
      expect(text).toContain("applied on 2 of 2 targeted devices");
      return text;
    });
    expect(events).toContain("iot-edge-connector");
  });

  it("answers kubectl logs through its kubelet API on the node's port", async () => {
    const name = (await kubectlJson<{ items: V1Pod[] }>(["get", "pods", "--selector=app=temperature-sensor"]))
      .items[0]?.metadata?.name;
    const { stdout } = await cluster.kubectl(["logs", name ?? "", "--tail=2"]);
    expect(stdout.trim().split("\n")).toEqual(["device-1 sensor line 4", "device-1 sensor line 5"]);
  });

  it("answers kubectl exec with: not supported by IoT Edge", async () => {
    const name = (await kubectlJson<{ items: V1Pod[] }>(["get", "pods", "--selector=app=temperature-sensor"]))
      .items[0]?.metadata?.name;
    const failure = await cluster.kubectl(["exec", name ?? "", "--", "ls"]).then(
      () => undefined,
      (error: unknown) => error,
    );
    expect(failure).toBeInstanceOf(CommandFailedError);
    expect((failure as CommandFailedError).message).toContain("not supported by IoT Edge");
  });

  it("marks a pod the provider refuses as Failed, naming the field", async () => {
    await cluster.kubectl(
      ["apply", "--filename=-"],
      podYaml("with-init", { podSpec: ["initContainers:", "  - { name: setup, image: busybox }"] }),
    );
    const pod = await eventually(async () => {
      const found = await kubectlJson<V1Pod>(["get", "pod", "with-init"]);
      expect(found.status?.phase).toBe("Failed");
      return found;
    });
    expect(pod.status?.reason).toBe("ProviderRejected");
    expect(pod.status?.message).toContain("spec.initContainers: IoT Edge has no init containers");
  });

  it("delays, never loses, work while the provider is down", async () => {
    await provider.stop();
    await cluster.kubectl(["apply", "--filename=-"], podYaml("during-outage"));
    // The adapter tried and failed at least once while the provider was down.
    await eventually(async () => {
      const errors = await adapter?.metrics.errors.get();
      expect(errors?.values.find((v) => v.labels.kind === "pod_sync")?.value ?? 0).toBeGreaterThan(0);
    });
    expect(provider.pods.has("default/during-outage")).toBe(false);
    await provider.restart();
    await eventually(() => expect(provider.pods.has("default/during-outage")).toBe(true), { attempts: 200 });
    await eventually(async () =>
      expect((await kubectlJson<V1Pod>(["get", "pod", "during-outage"])).status?.phase).toBe("Running"),
    );
  });

  it("removes a deleted pod at the provider first, then from the cluster", async () => {
    provider.removalDelayMs = 500;
    const uid = (await kubectlJson<V1Pod>(["get", "pod", "during-outage"])).metadata?.uid;
    await cluster.kubectl(["delete", "pod", "during-outage", "--wait=false"]);
    await eventually(async () => {
      const { stdout } = await cluster.kubectl([
        "get",
        "pods",
        "--field-selector=metadata.name=during-outage",
        "--output=name",
      ]);
      expect(stdout.trim()).toBe("");
    });
    const deletes = provider.callsTo("pod", "DELETE").filter((call) => call.params.name === "during-outage");
    expect(deletes.map((call) => call.query.get("uid"))).toEqual([uid]);
    expect(provider.pods.has("default/during-outage")).toBe(false);
  });

  it("deletes a pod when its grace period ends with the provider down, and at the provider once it is back", async () => {
    await cluster.kubectl(["apply", "--filename=-"], podYaml("deleted-in-outage"));
    await eventually(() => expect(provider.pods.has("default/deleted-in-outage")).toBe(true));
    const uid = (await kubectlJson<V1Pod>(["get", "pod", "deleted-in-outage"])).metadata?.uid;
    await provider.stop();
    await cluster.kubectl(["delete", "pod", "deleted-in-outage", "--grace-period=1", "--wait=false"]);
    await eventually(
      async () => {
        const { stdout } = await cluster.kubectl([
          "get",
          "pods",
          "--field-selector=metadata.name=deleted-in-outage",
          "--output=name",
        ]);
        expect(stdout.trim()).toBe("");
      },
      { attempts: 200 },
    );
    expect(provider.pods.has("default/deleted-in-outage")).toBe(true); // the provider has not heard yet
    await provider.restart();
    await eventually(() => expect(provider.pods.has("default/deleted-in-outage")).toBe(false), {
      attempts: 300,
    });
    const deletes = provider
      .callsTo("pod", "DELETE")
      .filter((call) => call.params.name === "deleted-in-outage");
    expect(deletes.map((call) => call.query.get("uid"))).toContain(uid);
  });

  it("waits for a ConfigMap and Secret the pod requires, then sends only the keys it refers to with the pod", async () => {
    const env = [
      "env:",
      "  - { name: INTERVAL, valueFrom: { configMapKeyRef: { name: sensor-settings, key: interval } } }",
      "  - { name: PASSWORD, valueFrom: { secretKeyRef: { name: sensor-secret, key: password } } }",
    ];
    await cluster.kubectl(["apply", "--filename=-"], podYaml("with-config", { container: env }));
    await eventually(async () => {
      const { stdout } = await cluster.kubectl([
        "get",
        "events",
        "--field-selector=involvedObject.name=with-config",
      ]);
      expect(stdout).toContain("MissingReference");
    });
    expect(provider.pods.has("default/with-config")).toBe(false);
    await cluster.kubectl([
      "create",
      "configmap",
      "sensor-settings",
      "--from-literal=interval=5",
      "--from-literal=unrelated=not-referenced",
    ]);
    await cluster.kubectl([
      "create",
      "secret",
      "generic",
      "sensor-secret",
      "--from-literal=password=pa55",
      "--from-literal=admin-password=never-sent",
    ]);
    const put = await eventually(
      () => {
        const call = provider
          .callsTo("pod", "PUT")
          .find((c) => c.params.name === "with-config" && c.status === 200);
        if (!call) throw new Error("pod not sent yet");
        return call;
      },
      { attempts: 200 },
    );
    // only the keys the pod refers to leave the cluster
    expect((put.body as PutPodRequest).resolved).toEqual({
      configMaps: { "sensor-settings": { data: { interval: "5" } } },
      secrets: {
        "sensor-secret": { type: "Opaque", data: { password: Buffer.from("pa55").toString("base64") } },
      },
    });
  });

  it("refuses to start, and never reconciles, when it cannot list the node's pods", async () => {
    await cluster.kubectl(
      ["apply", "--filename=-"],
      `apiVersion: v1
kind: ServiceAccount
metadata: { name: no-pods, namespace: default }
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: { name: no-pods }
rules:
  - { apiGroups: [""], resources: [nodes, nodes/status], verbs: [get, create, patch, update] }
  - { apiGroups: [coordination.k8s.io], resources: [leases], verbs: [get, create, update] }
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata: { name: no-pods }
roleRef: { apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: no-pods }
subjects: [{ kind: ServiceAccount, name: no-pods, namespace: default }]
`,
    );
    const token = (await cluster.kubectl(["create", "token", "no-pods", "--duration=10m"])).stdout.trim();
    const kubeConfig = new KubeConfig();
    kubeConfig.loadFromOptions({
      clusters: [{ name: "test", server: cluster.server, caFile: cluster.caCertPath }],
      users: [{ name: "no-pods", token }],
      contexts: [{ name: "test", cluster: "test", user: "no-pods" }],
      currentContext: "test",
    });
    // Everything for the node, nothing for pods.
    const [kubeletPort, metricsPort] = await Promise.all([freePort(), freePort()]);
    const reconcilesBefore = provider.callsTo("nodeReconcile").length;
    const outcome = await startAdapter({ ...config, kubeletPort, metricsPort }, logger, { kubeConfig }).then(
      async (unexpected) => {
        await unexpected.stop();
        return new Error("started");
      },
      (error: unknown) => error,
    );
    expect(String(outcome)).toContain(`listing the pods of node ${NODE}: HTTP 403`);
    expect(provider.callsTo("nodeReconcile")).toHaveLength(reconcilesBefore);
  });

  it("after a restart (as a process) re-sends every pod and has the provider drop what belongs to no pod; SIGTERM stops it", async () => {
    await adapter?.stop();
    adapter = undefined;
    const putsBefore = provider.callsTo("pod", "PUT").length;
    const stale = [...provider.pods.values()][0];
    if (!stale) throw new Error("expected pods at the provider");
    provider.pods.set("default/gone-while-down", {
      pod: { metadata: { name: "gone-while-down", namespace: "default", uid: "0000-stale" } },
      status: { ...stale.status, name: "gone-while-down", uid: "0000-stale" },
    });
    adapterProcess = startAdapterProcess(processArgs);
    // two replicas, the refused pod, the pod with config
    await eventually(() => expect(provider.reconciled).toHaveLength(4), { attempts: 300 });
    expect(provider.pods.has("default/gone-while-down")).toBe(false);
    await eventually(() =>
      expect(provider.callsTo("pod", "PUT").length).toBeGreaterThanOrEqual(putsBefore + 4),
    );
    const { code, output } = await adapterProcess.terminate();
    expect(code).toBe(0);
    expect(output).toContain('"msg":"stopped"');
    expect(output).not.toContain(FUNCTION_KEY);
  });
});
