// The Helm chart, checked with the project's helm (npm run dev:build-cluster): lint and template clean,
// least-privilege RBAC (references readable only in served namespaces), the admission policy and
// network policy, one Deployment and one key per virtual node, and clear refusals of bad values.
// test/adapter/e2e.security.test.ts checks on a real control plane that the rules hold.
import { cp, mkdtemp, rename, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { parseAllDocuments } from "yaml";
import { describe, expect, it } from "vitest";
import { binaries } from "../../dev/cluster/binaries.js";
import { CommandFailedError, runCommand } from "../../dev/cluster/commands.js";
import { parseNodePolicy } from "../../lib/policy/fleetPolicy.js";

const CHART = "charts/iot-edge-connector";
const node = (index: number, name: string, hub: string, key: string, namespaces = "{default}") =>
  `--set=nodes[${index}].name=${name},nodes[${index}].hubName=${hub},nodes[${index}].functionsUrl=https://app.example.net/api,nodes[${index}].functionKeySecret.name=${key},nodes[${index}].namespaces=${namespaces}`;
const twoNodes = [
  node(0, "edge-hub1", "hub1", "key1"),
  node(1, "edge-hub2", "hub2", "key2", "{team-a,default}"),
];

const helm = (args: string[]) => runCommand(binaries.helm, args, { displayName: `helm ${args[0] ?? ""}` });

async function render(args: string[] = [], chart = CHART): Promise<Record<string, unknown>[]> {
  const { stdout } = await helm([
    "template",
    "connector",
    chart,
    "--namespace=iot-edge",
    "--kube-version=1.36.3",
    ...args,
  ]);
  return parseAllDocuments(stdout)
    .map((document) => document.toJS() as Record<string, unknown> | null)
    .filter((object): object is Record<string, unknown> => object !== null);
}

type Container = { env: { name: string; value?: string }[] };
const adapterEnv = (objects: Record<string, unknown>[]) =>
  (
    objects.filter((o) => o.kind === "Deployment") as {
      spec: { template: { spec: { containers: Container[] } } };
    }[]
  ).map((d) =>
    Object.fromEntries((d.spec.template.spec.containers[0]?.env ?? []).map((e) => [e.name, e.value])),
  );

async function refusal(args: string[]): Promise<string> {
  const failure = await render(args).catch((error: unknown) => error);
  expect(failure).toBeInstanceOf(CommandFailedError);
  return (failure as CommandFailedError).message;
}

/**
 * NOTES.txt as `helm install` prints it. helm renders NOTES only on install, which needs a cluster,
 * so a copy of the chart renders the same text through tpl as an ordinary manifest.
 */
async function renderNotes(args: string[]): Promise<string> {
  const copy = await mkdtemp(path.join(tmpdir(), "chart-notes-"));
  try {
    await cp(CHART, copy, { recursive: true });
    await rename(path.join(copy, "templates/NOTES.txt"), path.join(copy, "notes.txt"));
    await writeFile(
      path.join(copy, "templates/notes.yaml"),
      'notes: |\n{{ tpl (.Files.Get "notes.txt") . | indent 2 }}\n',
    );
    const [notes] = await render(["--show-only=templates/notes.yaml", ...args], copy);
    return String(notes?.notes);
  } finally {
    await rm(copy, { recursive: true, force: true });
  }
}

interface Rule {
  apiGroups: string[];
  resources: string[];
  verbs: string[];
  resourceNames?: string[];
}

describe("Helm chart iot-edge-connector", () => {
  it("passes helm lint --strict", async () => {
    const { stdout } = await helm(["lint", "--strict", "--namespace=iot-edge", CHART]);
    expect(stdout).toContain("0 chart(s) failed");
    expect(stdout).not.toMatch(/\[(WARNING|ERROR)\]/);
  });

  it("renders one adapter Deployment, kubelet certificate and node name per virtual node", async () => {
    const objects = await render(twoNodes);
    const deployments = objects.filter((o) => o.kind === "Deployment") as {
      metadata: { name: string };
      spec: {
        replicas: number;
        template: { spec: { containers: { env: { name: string; value?: string }[] }[] } };
      };
    }[];
    expect(deployments.map((d) => d.metadata.name)).toEqual([
      "connector-iot-edge-connector-edge-hub1",
      "connector-iot-edge-connector-edge-hub2",
    ]);
    const envOf = (index: number) =>
      Object.fromEntries(
        (deployments[index]?.spec.template.spec.containers[0]?.env ?? []).map((e) => [e.name, e.value]),
      );
    expect(envOf(1)).toMatchObject({
      NODE_NAME: "edge-hub2",
      HUB_NAME: "hub2",
      FUNCTION_KEY_FILE: expect.any(String),
      KUBELET_CLIENT_CA_FILE: expect.any(String),
    });
    expect(envOf(1)).not.toHaveProperty("ALLOW_HTTP_PROVIDER_FOR_LOCAL_DEVELOPMENT");
    const volumes = (index: number) =>
      (
        deployments[index] as unknown as {
          spec: { template: { spec: { volumes: Record<string, unknown>[] } } };
        }
      ).spec.template.spec.volumes;
    // each node mounts its own key, and the cluster's CA as the kubelet client CA
    expect(volumes(0)).toContainEqual(
      expect.objectContaining({ secret: expect.objectContaining({ secretName: "key1" }) }),
    );
    expect(volumes(1)).toContainEqual(
      expect.objectContaining({ secret: expect.objectContaining({ secretName: "key2" }) }),
    );
    expect(volumes(1)).toContainEqual({
      name: "kubelet-client-ca",
      configMap: { name: "kube-root-ca.crt", items: [{ key: "ca.crt", path: "ca.crt" }] },
    });
    expect(deployments.every((d) => d.spec.replicas === 1)).toBe(true);
    expect(
      objects.filter((o) => o.kind === "Secret" && (o as { type?: string }).type === "kubernetes.io/tls"),
    ).toHaveLength(2);
    // the function key is only referenced, never rendered
    expect(JSON.stringify(objects)).not.toMatch(/functionKey"?:\s*"[^"]/);
  });

  it("gives a node's fleet policy to its adapter as FLEET_POLICY, and no policy to a node without one", async () => {
    const policy = { scope: "tags.site = 'plant-a'", namespaces: { "line-1": { grants: ["hostNetwork"] } } };
    const objects = await render([...twoNodes, `--set-json=nodes[0].policy=${JSON.stringify(policy)}`]);
    const deployments = objects.filter((o) => o.kind === "Deployment") as {
      spec: { template: { spec: { containers: { env: { name: string; value?: string }[] }[] } } };
    }[];
    const policyOf = (index: number) =>
      deployments[index]?.spec.template.spec.containers[0]?.env.find((e) => e.name === "FLEET_POLICY")?.value;
    expect(parseNodePolicy(policyOf(0))).toEqual(parseNodePolicy(policy));
    expect(policyOf(1)).toBeUndefined();
  });

  it("bounds each adapter's V8 heap by NODE_OPTIONS below its memory limit, and leaves NODE_OPTIONS out when asked", async () => {
    const objects = await render(twoNodes);
    const limit = (
      objects.find((o) => o.kind === "Deployment") as {
        spec: { template: { spec: { containers: { resources: { limits: { memory: string } } }[] } } };
      }
    ).spec.template.spec.containers[0]?.resources.limits.memory;
    const limitMiB = Number(/^(\d+)Mi$/.exec(limit ?? "")?.[1]);
    for (const env of adapterEnv(objects)) {
      const option = (name: string) =>
        Number(new RegExp(`--${name}=(\\d+)`).exec(env.NODE_OPTIONS ?? "")?.[1]);
      // old space plus the young generation (three semi-spaces at most) stay under the limit
      expect(option("max-old-space-size") + 3 * option("max-semi-space-size")).toBeLessThan(limitMiB);
    }
    expect(adapterEnv(await render([...twoNodes, "--set=nodeOptions="]))[0]).not.toHaveProperty(
      "NODE_OPTIONS",
    );
  });

  it("grants only what a virtual kubelet needs, limited to its own nodes and leases, and no Secret cluster-wide", async () => {
    const objects = await render(twoNodes);
    const clusterRole = objects.find((o) => o.kind === "ClusterRole") as { rules: Rule[] };
    const leaseRole = objects.find(
      (o) => o.kind === "Role" && (o.metadata as { namespace: string }).namespace === "kube-node-lease",
    ) as {
      metadata: { namespace: string };
      rules: Rule[];
    };
    const grants = (rules: Rule[]) =>
      rules.flatMap((rule) =>
        rule.resources.flatMap((resource) =>
          rule.verbs.map(
            (verb) => `${resource}:${verb}${rule.resourceNames ? `@${rule.resourceNames.join("+")}` : ""}`,
          ),
        ),
      );
    expect(grants(clusterRole.rules).sort()).toEqual(
      [
        "nodes:create",
        "nodes:get@edge-hub1+edge-hub2",
        "nodes:patch@edge-hub1+edge-hub2",
        "nodes:update@edge-hub1+edge-hub2",
        "nodes/status:patch@edge-hub1+edge-hub2",
        "nodes/status:update@edge-hub1+edge-hub2",
        "pods:get",
        "pods:list",
        "pods:watch",
        "pods:delete",
        "pods/status:update",
        "pods/status:patch",
        "events:create",
        "events:patch",
        "tokenreviews:create",
        "subjectaccessreviews:create",
      ].sort(),
    );
    expect(leaseRole.metadata.namespace).toBe("kube-node-lease");
    expect(grants(leaseRole.rules).sort()).toEqual([
      "leases:create",
      "leases:get@edge-hub1+edge-hub2",
      "leases:update@edge-hub1+edge-hub2",
    ]);
  });

  it("lets the adapters read ConfigMaps, Secrets, ReplicaSets and Deployments only in the namespaces their nodes serve, by a Role in each", async () => {
    const objects = await render(twoNodes);
    const references = objects.filter(
      (o) => o.kind === "Role" && (o.metadata as { name: string }).name.endsWith("-references"),
    ) as {
      metadata: { namespace: string };
      rules: Rule[];
    }[];
    expect(references.map((role) => role.metadata.namespace)).toEqual(["default", "team-a"]);
    for (const role of references)
      expect(role.rules).toEqual([
        { apiGroups: [""], resources: ["configmaps", "secrets"], verbs: ["get"] },
        { apiGroups: ["apps"], resources: ["replicasets", "deployments"], verbs: ["get"] },
      ]);
    const bindings = objects.filter(
      (o) => o.kind === "RoleBinding" && (o.metadata as { name: string }).name.endsWith("-references"),
    ) as { metadata: { namespace: string }; subjects: { name: string; namespace: string }[] }[];
    expect(bindings.map((binding) => binding.metadata.namespace)).toEqual(["default", "team-a"]);
    expect(bindings[0]?.subjects).toEqual([
      { kind: "ServiceAccount", name: "connector-iot-edge-connector", namespace: "iot-edge" },
    ]);
  });

  it("installs an admission policy that holds the adapters' ServiceAccount to its own nodes' pods, Nodes and Leases", async () => {
    const objects = await render(twoNodes);
    const policy = objects.find((o) => o.kind === "ValidatingAdmissionPolicy") as {
      metadata: { name: string };
      spec: {
        failurePolicy: string;
        matchConditions: { expression: string }[];
        variables: { name: string; expression: string }[];
        validations: { expression: string }[];
      };
    };
    expect(policy.spec.failurePolicy).toBe("Fail");
    expect(policy.spec.matchConditions[0]?.expression).toBe(
      "request.userInfo.username == 'system:serviceaccount:iot-edge:connector-iot-edge-connector'",
    );
    expect(policy.spec.variables).toContainEqual({ name: "nodes", expression: "['edge-hub1', 'edge-hub2']" });
    expect(policy.spec.validations).toHaveLength(3);
    const binding = objects.find((o) => o.kind === "ValidatingAdmissionPolicyBinding") as {
      spec: { policyName: string; validationActions: string[] };
    };
    expect(binding.spec).toEqual({ policyName: policy.metadata.name, validationActions: ["Deny"] });
  });

  it("renders a NetworkPolicy only when asked: the kubelet port from the control plane, metrics from the scraper", async () => {
    expect((await render(twoNodes)).some((o) => o.kind === "NetworkPolicy")).toBe(false);
    const objects = await render([
      ...twoNodes,
      "--set=networkPolicy.enabled=true",
      "--set=networkPolicy.kubeletFrom[0].ipBlock.cidr=10.224.0.0/16",
      "--set=networkPolicy.metricsFrom[0].namespaceSelector.matchLabels.team=monitoring",
    ]);
    const policy = objects.find((o) => o.kind === "NetworkPolicy") as {
      spec: { policyTypes: string[]; ingress: { from: unknown[]; ports: { port: number }[] }[] };
    };
    expect(policy.spec.policyTypes).toEqual(["Ingress"]);
    expect(policy.spec.ingress).toEqual([
      { from: [{ ipBlock: { cidr: "10.224.0.0/16" } }], ports: [{ protocol: "TCP", port: 10250 }] },
      {
        from: [{ namespaceSelector: { matchLabels: { team: "monitoring" } } }],
        ports: [{ protocol: "TCP", port: 8080 }],
      },
    ]);
  });

  it.each([
    [
      "a NetworkPolicy that would let everyone reach the kubelet API",
      [...twoNodes, "--set=networkPolicy.enabled=true"],
      "networkPolicy.kubeletFrom: name where the apiserver reaches the kubelet API from",
    ],
    [
      "a plain http Functions URL",
      [node(0, "edge-hub1", "hub1", "key1").replace("https://", "http://")],
      "nodes[0].functionsUrl must be an https URL",
    ],
    [
      "two nodes sharing one key",
      [node(0, "edge-hub1", "hub1", "key1"), node(1, "edge-hub2", "hub2", "key1")],
      "nodes[1].functionKeySecret: node edge-hub2 uses the key of node edge-hub1; each node needs its own key",
    ],
    [
      "a node serving the release namespace, where the keys are",
      [node(0, "edge-hub1", "hub1", "key1", "{iot-edge}")],
      "nodes[0].namespaces: the release namespace iot-edge holds the nodes' keys and cannot be served",
    ],
  ])("refuses %s, naming the value", async (_what, args, message) => {
    const failure = await render(args).catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(CommandFailedError);
    expect((failure as CommandFailedError).message).toContain(message);
  });

  it("takes a plain http Functions URL for local development only, and tells the adapter so", async () => {
    const objects = await render([
      node(0, "edge-hub1", "hub1", "key1").replace("https://", "http://"),
      "--set=localDevelopment.allowHttpProvider=true",
    ]);
    const deployment = objects.find((o) => o.kind === "Deployment") as {
      spec: { template: { spec: { containers: { env: { name: string; value?: string }[] }[] } } };
    };
    expect(deployment.spec.template.spec.containers[0]?.env).toContainEqual({
      name: "ALLOW_HTTP_PROVIDER_FOR_LOCAL_DEVELOPMENT",
      value: "true",
    });
  });

  it("refuses a node without a Functions URL, naming the value", async () => {
    const failure = await render([
      "--set=nodes[0].name=edge-hub1,nodes[0].hubName=hub1,nodes[0].functionKeySecret.name=k,nodes[0].namespaces={default}",
    ]).catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(CommandFailedError);
    expect((failure as CommandFailedError).message).toContain(
      "at '/nodes/0': missing property 'functionsUrl'",
    );
  });

  it("gives every node the original connector's taint unless the node has its own", async () => {
    const objects = await render([
      ...twoNodes,
      "--set=nodes[1].taint.key=azure.com/iotedge,nodes[1].taint.value=,nodes[1].taint.effect=NoExecute",
    ]);
    expect(adapterEnv(objects).map((env) => env.NODE_TAINT)).toEqual([
      "virtual-kubelet.io/provider=iotedge:NoSchedule",
      "azure.com/iotedge:NoExecute",
    ]);
  });

  it("refuses a taint effect Kubernetes does not have, naming the value", async () => {
    const message = await refusal([...twoNodes, "--set=nodes[0].taint.key=k,nodes[0].taint.effect=Never"]);
    expect(message).toContain("at '/nodes/0/taint/effect'");
  });

  it("sends each node's pods to the app with podSyncWorkers at once, 4 unless set", async () => {
    const workersOf = async (args: string[]) =>
      ((await render([...twoNodes, ...args])) as { kind: string; spec?: unknown }[])
        .filter((o) => o.kind === "Deployment")
        .map(
          (d) =>
            (
              d.spec as { template: { spec: { containers: { env: { name: string; value?: string }[] }[] } } }
            ).template.spec.containers[0]?.env.find((e) => e.name === "POD_SYNC_WORKERS")?.value,
        );
    expect(await workersOf([])).toEqual(["4", "4"]);
    expect(await workersOf(["--set=podSyncWorkers=8"])).toEqual(["8", "8"]);
  });

  it("refuses misspelt and malformed values, naming each", async () => {
    const message = await refusal([
      "--set=taint.valeu=x",
      "--set=nodes[0].name=Edge_Hub,nodes[0].hubName=hub1,nodes[0].functionsUrl=app.example.net,nodes[0].functionKeySecret.name=k",
      "--set=statusIntervalMs=fast",
      "--set=podSyncWorkers=0",
    ]);
    expect(message).toContain("at '/taint': additional properties 'valeu' not allowed");
    expect(message).toContain("at '/nodes/0/name'");
    expect(message).toContain("at '/nodes/0/functionsUrl'");
    expect(message).toContain("at '/statusIntervalMs'");
    expect(message).toContain("at '/podSyncWorkers'");
  });

  it("prints, for each node, the nodeSelector and tolerations a pod needs, eviction ones included", async () => {
    const notes = await renderNotes([
      ...twoNodes,
      "--set=nodes[1].taint.key=azure.com/iotedge,nodes[1].taint.effect=NoSchedule",
    ]);
    expect(notes).toContain(
      [
        "For edge-hub1 (IoT Hub hub1):",
        "  nodeSelector:",
        "    type: virtual-kubelet",
        "    kubernetes.io/hostname: edge-hub1",
        "  tolerations:",
        "    - key: virtual-kubelet.io/provider",
        "      operator: Equal",
        "      value: iotedge",
        "      effect: NoSchedule",
        "    # not evicted while the adapter is away (the node stays Ready while it runs)",
        "    - { key: node.kubernetes.io/unreachable, operator: Exists, effect: NoExecute }",
        "    - { key: node.kubernetes.io/not-ready, operator: Exists, effect: NoExecute }",
      ].join("\n"),
    );
    expect(notes).toContain(
      [
        "    kubernetes.io/hostname: edge-hub2",
        "  tolerations:",
        "    - key: azure.com/iotedge",
        "      operator: Exists",
        "      effect: NoSchedule",
      ].join("\n"),
    );
    expect(notes.replace(/\s+/g, " ")).toContain(
      "An evicted pod of a Deployment (a ReplicaSet) keeps its deployment on the devices until its replacement is sent",
    );
  });

  it("renders with the values Terraform's adapter_chart_values output holds", async () => {
    // The output's shape as infra/tests/new_hub.tftest.hcl asserts it, with a registry.
    const dir = await mkdtemp(path.join(tmpdir(), "chart-values-"));
    const valuesFile = path.join(dir, "adapter-values.json");
    await writeFile(
      valuesFile,
      JSON.stringify({
        image: { repository: "edgeconnacr.azurecr.io/iot-edge-connector/adapter", tag: "0.1.0" },
        nodes: ["plant-a", "plant-b"].map((hub) => ({
          name: `iot-edge-${hub}`,
          hubName: hub,
          functionsUrl: "https://edgeconn-edge-abc123.azurewebsites.net/api",
          functionKeySecret: { name: `iot-edge-${hub}-key`, key: "functionKey" },
          namespaces: ["default"],
        })),
      }),
    );
    try {
      const deployments = (await render([`--values=${valuesFile}`])).filter(
        (o) => o.kind === "Deployment",
      ) as {
        spec: { template: { spec: { containers: { image: string }[] } } };
      }[];
      expect(deployments.map((d) => d.spec.template.spec.containers[0]?.image)).toEqual([
        "edgeconnacr.azurecr.io/iot-edge-connector/adapter:0.1.0",
        "edgeconnacr.azurecr.io/iot-edge-connector/adapter:0.1.0",
      ]);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
