// Issue 14 end to end, on one real control plane shared by every check: two virtual nodes (vk-a,
// vk-b) installed by the chart, each adapter a process with the chart's ServiceAccount and its own
// key, the Functions app on the local host, the IoT Hub simulator's devices. Who may reach the
// kubelet API and with what, what the adapters' ServiceAccount may touch, what a node's key opens,
// and that a Secret's value leaves no trace in storage once its pod is gone.
import { randomBytes } from "node:crypto";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { request } from "node:https";
import { tmpdir } from "node:os";
import path from "node:path";
import {
  ApiException,
  CoordinationV1Api,
  CoreV1Api,
  KubeConfig,
  PatchStrategy,
  setHeaderOptions,
  type V1Pod,
} from "@kubernetes/client-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { RunningSimulator } from "../../dev/simulator/simulator.js";
import { CommandFailedError } from "../../dev/cluster/commands.js";
import { startControlPlane, type ControlPlane } from "../../dev/cluster/controlPlane.js";
import {
  ADAPTER_SERVICE_ACCOUNT,
  installChartForAdapters,
  RELEASE_NAMESPACE,
} from "../../dev/connector/installedAdapter.js";
import { startLocalApp, type LocalApp } from "../../dev/connector/localApp.js";
import { annotations } from "../../lib/translate/annotations.js";
import { startTestSimulator } from "../support/testSimulator.js";
import { storageContents, whereFound } from "../support/storageContents.js";
import { startAdapterProcess } from "../../dev/connector/adapterProcess.js";
import { eventually } from "./support/eventually.js";

const HUB = "hub1";
const NODES = ["vk-a", "vk-b"] as const;
const POLL = { attempts: 300, intervalMs: 300 };
const IMAGE = "mcr.microsoft.com/azureiotedge-simulated-temperature-sensor:1.5";

/** A pod bound to `node`, on the devices tagged site=a unless told otherwise. */
function podYaml(
  name: string,
  node: string,
  extra: { container?: string[]; target?: string; containerName?: string } = {},
): string {
  return [
    "apiVersion: v1",
    "kind: Pod",
    "metadata:",
    `  name: ${name}`,
    "  namespace: default",
    "  annotations:",
    `    ${annotations.targetCondition}: "${extra.target ?? "tags.site='a'"}"`,
    "spec:",
    `  nodeName: ${node}`,
    "  tolerations:",
    "    - { key: virtual-kubelet.io/provider, operator: Equal, value: iotedge, effect: NoSchedule }",
    "  containers:",
    `    - name: ${extra.containerName ?? "sensor"}`,
    `      image: ${IMAGE}`,
    ...(extra.container ?? []).map((line) => `      ${line}`),
    "",
  ].join("\n");
}

/** ServiceAccounts with some rights on nodes (or none), as a user might give a monitoring tool. */
const callersYaml = `apiVersion: v1
kind: ServiceAccount
metadata: { name: no-node-rights, namespace: default }
---
apiVersion: v1
kind: ServiceAccount
metadata: { name: node-log-reader, namespace: default }
---
apiVersion: v1
kind: ServiceAccount
metadata: { name: node-proxy-user, namespace: default }
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: { name: node-log-reader }
rules: [{ apiGroups: [""], resources: [nodes/log], verbs: [get] }]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata: { name: node-log-reader }
roleRef: { apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: node-log-reader }
subjects: [{ kind: ServiceAccount, name: node-log-reader, namespace: default }]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: { name: node-proxy-user }
rules: [{ apiGroups: [""], resources: [nodes/proxy], verbs: [get] }]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata: { name: node-proxy-user }
roleRef: { apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: node-proxy-user }
subjects: [{ kind: ServiceAccount, name: node-proxy-user, namespace: default }]
`;

describe("the adapter and the provider API trust only whom they must", { timeout: 240_000 }, () => {
  let cluster: ControlPlane;
  let simulator: RunningSimulator;
  let app: LocalApp;
  let dir: string;
  let servingCa: string;
  const adapters: ReturnType<typeof startAdapterProcess>[] = [];
  const kubeletPorts: Record<string, number> = {};
  const tokens: Record<string, string> = {};

  const podOf = async (name: string) =>
    JSON.parse((await cluster.kubectl(["get", "pod", name, "--output=json"])).stdout) as V1Pod;
  const running = (name: string) =>
    eventually(async () => {
      await simulator.fleet.evaluateNow();
      const pod = await podOf(name);
      expect(pod.status?.phase, pod.status?.message).toBe("Running");
      return pod;
    }, POLL);
  /** kubectl as someone else: a ServiceAccount's token instead of the admin's. */
  const kubectlAs = (token: string, args: string[], input?: string) =>
    cluster.kubectl([`--token=${token}`, ...args], input);
  const failureOf = (promise: Promise<unknown>) =>
    promise.then(
      () => new Error("it succeeded"),
      (error: unknown) => error as Error,
    );

  /** A GET straight to a node's kubelet API, as a pod on the network would make it. */
  const kubeletGet = (node: string, pathAndQuery: string, token?: string) =>
    new Promise<{ status: number; body: string }>((resolve, reject) => {
      const headers = token ? { authorization: `Bearer ${token}` } : {};
      request(
        { host: "127.0.0.1", port: kubeletPorts[node], path: pathAndQuery, ca: servingCa, headers },
        (response) => {
          let body = "";
          response.on("data", (chunk: Buffer) => (body += chunk.toString()));
          response.on("end", () => resolve({ status: response.statusCode ?? 0, body }));
        },
      )
        .on("error", reject)
        .end();
    });

  /** The provider API with a node's key. */
  const provider = (node: string, route: string, init: RequestInit = {}) =>
    fetch(`${app.url}/api/v1/hubs/${HUB}/${route}`, {
      ...init,
      headers: { "x-functions-key": app.node(node).key, "content-type": "application/json" },
    });

  beforeAll(async () => {
    dir = await mkdtemp(path.join(tmpdir(), "e2e-security-"));
    [cluster, simulator] = await Promise.all([
      startControlPlane(),
      startTestSimulator({
        hubName: HUB,
        evaluationIntervalMs: 200,
        devices: [
          { deviceId: "dev-1", tags: { site: "a" } },
          { deviceId: "dev-2", tags: { site: "a" } },
          { deviceId: "dev-3", tags: { site: "b" } },
        ],
      }),
    ]);
    app = await startLocalApp({
      hubs: [{ name: HUB, simulator }],
      nodes: NODES.map((node) => ({ node, hub: HUB })),
      releaseGraceSeconds: 0,
      purgeSchedule: "*/2 * * * * *",
    });
    await cluster.kubectl(["create", "namespace", "outside"]);
    const installed = await installChartForAdapters({
      cluster,
      dir,
      nodes: NODES.map((node) => ({ node, hub: HUB, key: app.node(node).key })),
      providerUrl: `${app.url}/api`,
    });
    servingCa = await readFile(path.join(dir, "kubelet.crt"), "utf8");
    for (const { node, kubeletPort, adapterArgs } of installed) {
      kubeletPorts[node] = kubeletPort;
      adapters.push(startAdapterProcess(adapterArgs));
    }
    await cluster.kubectl(["apply", "--filename=-"], callersYaml);
    const tokenOf = async (account: string, namespace = "default") =>
      (
        await cluster.kubectl([`--namespace=${namespace}`, "create", "token", account, "--duration=1h"])
      ).stdout.trim();
    for (const account of ["no-node-rights", "node-log-reader", "node-proxy-user"])
      tokens[account] = await tokenOf(account);
    tokens.adapter = await tokenOf(ADAPTER_SERVICE_ACCOUNT, RELEASE_NAMESPACE);
    await cluster.kubectl(["apply", "--filename=-"], podYaml("sensor-a", "vk-a"));
    // on site b: two workloads may not both define module "sensor" on the same devices (fleet policy)
    await cluster.kubectl(
      ["apply", "--filename=-"],
      podYaml("sensor-b", "vk-b", { target: "tags.site='b'" }),
    );
    await Promise.all([running("sensor-a"), running("sensor-b")]);
    // a running module writes a line every 5 s: the log tests read those
    await eventually(async () => {
      const { stdout } = await cluster.kubectl(["logs", "sensor-a", "--tail=2"]);
      expect(stdout.match(/sensor: sent message/g)).toHaveLength(2);
    }, POLL);
  });

  afterAll(async () => {
    for (const adapter of adapters) await adapter.terminate();
    await app?.stop();
    await simulator?.stop();
    await cluster?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it("kubectl logs still works through the apiserver, with --tail and --timestamps", async () => {
    const { stdout } = await cluster.kubectl(["logs", "sensor-a", "--tail=2", "--timestamps"]);
    const lines = stdout.trimEnd().split("\n");
    expect(lines).toHaveLength(2);
    for (const line of lines)
      expect(line).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z <\d> \d{4}-\d\d-\d\d /);
  });

  it("answers 401 to an anonymous request and to an unknown token, 403 to a ServiceAccount without node rights", async () => {
    const logs = "/containerLogs/default/sensor-a/sensor?tailLines=1";
    expect(await kubeletGet("vk-a", logs)).toEqual({ status: 401, body: "Unauthorized" });
    expect((await kubeletGet("vk-a", logs, "not-a-token-the-cluster-knows")).status).toBe(401);
    expect((await kubeletGet("vk-a", "/pods")).status).toBe(401);
    const forbidden = await kubeletGet("vk-a", logs, tokens["no-node-rights"]);
    expect(forbidden).toEqual({
      status: 403,
      body: "Forbidden (user=system:serviceaccount:default:no-node-rights, verb=get, resource=nodes, subresource(s)=[proxy])",
    });
  });

  it("lets a token with nodes/log through to /logs and one with nodes/proxy to container logs, each only there", async () => {
    // past authorization, a virtual node has no log files: 404, not 401 or 403
    expect((await kubeletGet("vk-a", "/logs/", tokens["node-log-reader"])).status).toBe(404);
    expect((await kubeletGet("vk-a", "/logs/", tokens["no-node-rights"])).status).toBe(403);
    const logs = "/containerLogs/default/sensor-a/sensor?tailLines=1";
    expect((await kubeletGet("vk-a", logs, tokens["node-log-reader"])).status).toBe(403);
    const read = await kubeletGet("vk-a", logs, tokens["node-proxy-user"]);
    expect(read.status).toBe(200);
    expect(read.body).toMatch(/sensor: /);
  });

  it("refuses ?device= for a device the pod's deployment does not target", async () => {
    const user = tokens["node-proxy-user"];
    const targeted = await kubeletGet(
      "vk-a",
      "/containerLogs/default/sensor-a/sensor?tailLines=1&device=dev-2",
      user,
    );
    expect(targeted.status).toBe(200);
    expect(await kubeletGet("vk-a", "/containerLogs/default/sensor-a/sensor?device=dev-3", user)).toEqual({
      status: 403,
      body: `device "dev-3" is not targeted by pod default/sensor-a's deployment`,
    });
  });

  it("the adapters' ServiceAccount reads Secrets in the namespaces its nodes serve and nowhere else", async () => {
    await cluster.kubectl([
      "create",
      "secret",
      "generic",
      "team-secret",
      "--from-literal=token=t",
      "--namespace=outside",
    ]);
    await cluster.kubectl(["create", "secret", "generic", "served-secret", "--from-literal=token=t"]);
    const outside = await failureOf(
      kubectlAs(tokens.adapter!, ["get", "secret", "team-secret", "--namespace=outside"]),
    );
    expect(outside).toBeInstanceOf(CommandFailedError);
    expect(outside.message).toContain(
      `User "system:serviceaccount:${RELEASE_NAMESPACE}:${ADAPTER_SERVICE_ACCOUNT}" cannot get resource "secrets"`,
    );
    const listAll = await failureOf(kubectlAs(tokens.adapter!, ["get", "secrets", "--all-namespaces"]));
    expect(listAll.message).toContain("cannot list resource");
    const served = await kubectlAs(tokens.adapter!, ["get", "secret", "served-secret", "--output=name"]);
    expect(served.stdout.trim()).toBe("secret/served-secret");
  });

  it("the admission policy refuses the adapters' ServiceAccount a pod on another node, another Node and another Lease", async () => {
    await cluster.kubectl(
      ["apply", "--filename=-"],
      `apiVersion: v1
kind: Node
metadata: { name: vk-elsewhere }
---
${podYaml("elsewhere", "vk-elsewhere")}`,
    );
    // as the adapter makes these calls: straight to the API, with the adapters' ServiceAccount
    const kubeConfig = new KubeConfig();
    kubeConfig.loadFromOptions({
      clusters: [{ name: "test", server: cluster.server, caFile: cluster.caCertPath }],
      users: [{ name: "adapter", token: tokens.adapter! }],
      contexts: [{ name: "test", cluster: "test", user: "adapter" }],
      currentContext: "test",
    });
    const core = kubeConfig.makeApiClient(CoreV1Api);
    const coordination = kubeConfig.makeApiClient(CoordinationV1Api);
    const refusal = (call: Promise<unknown>) =>
      call.then(
        () => ({ code: 200, body: "it succeeded" }),
        (error: unknown) => {
          if (!(error instanceof ApiException)) throw error;
          return { code: error.code, body: String(error.body) };
        },
      );
    const mergePatch = setHeaderOptions("Content-Type", PatchStrategy.MergePatch);
    const patchStatus = (name: string) =>
      core.patchNamespacedPodStatus(
        { name, namespace: "default", body: { status: { message: "taken over" } } },
        mergePatch,
      );
    const policy = "ValidatingAdmissionPolicy 'connector-iot-edge-connector-own-nodes'";

    const patched = await refusal(patchStatus("elsewhere"));
    expect(patched.code).toBe(403);
    expect(patched.body).toContain(policy);
    expect(patched.body).toContain(
      "the IoT Edge connector may change only pods bound to its nodes (vk-a, vk-b)",
    );
    const deleted = await refusal(core.deleteNamespacedPod({ name: "elsewhere", namespace: "default" }));
    expect(deleted.code).toBe(403);
    expect(deleted.body).toContain("may change only pods bound to its nodes");
    // RBAC lets it create nodes and leases (a name cannot be known beforehand), the policy only its own
    const node = await refusal(core.createNode({ body: { metadata: { name: "vk-sneaky" } } }));
    expect(node.code).toBe(403);
    expect(node.body).toContain("may change only its own nodes (vk-a, vk-b)");
    const lease = await refusal(
      coordination.createNamespacedLease({
        namespace: "kube-node-lease",
        body: { metadata: { name: "vk-sneaky", namespace: "kube-node-lease" }, spec: {} },
      }),
    );
    expect(lease.code).toBe(403);
    expect(lease.body).toContain("may change only the leases of its own nodes");
    // its own node's pod it may change (which is what the adapter does all day)
    await patchStatus("sensor-a");
    expect((await podOf("elsewhere")).status?.message).toBeUndefined();
  });

  it("node A's key cannot PUT, reconcile or read logs for node B, and A's kubelet API has none of B's pods", async () => {
    const sensorB = await podOf("sensor-b");
    const put = await provider("vk-a", "namespaces/default/pods/sensor-b", {
      method: "PUT",
      body: JSON.stringify({ node: "vk-b", pod: sensorB, resolved: { configMaps: {}, secrets: {} } }),
    });
    const reconcile = await provider("vk-a", "nodes/vk-b/reconcile", {
      method: "POST",
      body: JSON.stringify({ pods: [] }),
    });
    const logs = await provider("vk-a", "namespaces/default/pods/sensor-b/containers/sensor/logs?tail=1");
    const list = await provider("vk-a", "nodes/vk-b/pods");
    expect([put.status, reconcile.status, logs.status, list.status]).toEqual([403, 403, 403, 403]);
    // B's pod is untouched: still Running, still listed for B
    expect((await app.nodePods(HUB, "vk-b")).pods.map((pod) => pod.name)).toEqual(["sensor-b"]);
    const crossed = await kubeletGet(
      "vk-a",
      "/containerLogs/default/sensor-b/sensor",
      tokens["node-proxy-user"],
    );
    expect(crossed).toEqual({ status: 404, body: "pod default/sensor-b is not on this node" });
  });

  it("leaves no byte of a Secret's value in Azurite's blobs, queues or tables once its pod has run and been deleted", async () => {
    const value = `s3cret-${randomBytes(12).toString("hex")}`;
    const unused = `unused-${randomBytes(12).toString("hex")}`;
    const forms = (text: string) => [text, Buffer.from(text).toString("base64")];
    await cluster.kubectl([
      "create",
      "secret",
      "generic",
      "sensor-credentials",
      `--from-literal=password=${value}`,
      `--from-literal=not-referenced=${unused}`,
    ]);
    await cluster.kubectl(
      ["apply", "--filename=-"],
      podYaml("secret-user", "vk-a", {
        containerName: "secret-user",
        container: [
          "env:",
          "  - { name: PASSWORD, valueFrom: { secretKeyRef: { name: sensor-credentials, key: password } } }",
        ],
      }),
    );
    await running("secret-user");
    // while it runs: the key it does not refer to never left the cluster, and the scheduler keeps no content
    const during = await storageContents(app.storageConnectionString);
    expect(whereFound(during, forms(unused))).toEqual([]);
    const scheduler = during.filter(
      (item) => item.where.includes("entities/") && item.where.includes("hubscheduler"),
    );
    expect(scheduler.length).toBeGreaterThan(0);
    expect(whereFound(scheduler, forms(value))).toEqual([]);
    // the pod's own orchestration holds it while the pod runs
    expect(whereFound(during, forms(value)).length).toBeGreaterThan(0);

    await cluster.kubectl(["delete", "pod", "secret-user", "--wait=false"]);
    await eventually(async () => {
      const { stdout } = await cluster.kubectl([
        "get",
        "pods",
        "--field-selector=metadata.name=secret-user",
        "--output=name",
      ]);
      expect(stdout.trim()).toBe("");
    }, POLL);
    await eventually(async () => {
      expect(
        whereFound(await storageContents(app.storageConnectionString), [...forms(value), ...forms(unused)]),
      ).toEqual([]);
    }, POLL);
  });
});
