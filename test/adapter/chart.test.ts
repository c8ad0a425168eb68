// The Helm chart, checked with the project's helm (npm run dev:build-cluster): lint and template clean,
// least-privilege RBAC, one Deployment per virtual node, and clear refusals of bad values.
import { parseAllDocuments } from "yaml";
import { describe, expect, it } from "vitest";
import { binaries } from "../../dev/cluster/binaries.js";
import { CommandFailedError, runCommand } from "../../dev/cluster/commands.js";

const CHART = "charts/iot-edge-connector";
const twoNodes = [
  "--set=nodes[0].name=edge-hub1,nodes[0].hubName=hub1,nodes[0].functionsUrl=https://app.example.net/api,nodes[0].functionKeySecret.name=key1",
  "--set=nodes[1].name=edge-hub2,nodes[1].hubName=hub2,nodes[1].functionsUrl=https://app.example.net/api,nodes[1].functionKeySecret.name=key2",
];

const helm = (args: string[]) => runCommand(binaries.helm, args, { displayName: `helm ${args[0] ?? ""}` });

async function render(args: string[] = []): Promise<Record<string, unknown>[]> {
  const { stdout } = await helm([
    "template",
    "connector",
    CHART,
    "--namespace=iot-edge",
    "--kube-version=1.36.3",
    ...args,
  ]);
  return parseAllDocuments(stdout)
    .map((document) => document.toJS() as Record<string, unknown> | null)
    .filter((object): object is Record<string, unknown> => object !== null);
}

interface Rule {
  apiGroups: string[];
  resources: string[];
  verbs: string[];
  resourceNames?: string[];
}

describe("Helm chart iot-edge-connector", () => {
  it("passes helm lint --strict", async () => {
    const { stdout } = await helm(["lint", "--strict", CHART]);
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
    });
    expect(deployments.every((d) => d.spec.replicas === 1)).toBe(true);
    expect(
      objects.filter((o) => o.kind === "Secret" && (o as { type?: string }).type === "kubernetes.io/tls"),
    ).toHaveLength(2);
    // the function key is only referenced, never rendered
    expect(JSON.stringify(objects)).not.toMatch(/functionKey"?:\s*"[^"]/);
  });

  it("grants only what a virtual kubelet needs, limited to its own nodes and leases", async () => {
    const objects = await render(twoNodes);
    const clusterRole = objects.find((o) => o.kind === "ClusterRole") as { rules: Rule[] };
    const leaseRole = objects.find((o) => o.kind === "Role") as {
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
        "configmaps:get",
        "secrets:get",
        "replicasets:get",
        "statefulsets:get",
        "daemonsets:get",
        "jobs:get",
        "replicationcontrollers:get",
      ].sort(),
    );
    expect(leaseRole.metadata.namespace).toBe("kube-node-lease");
    expect(grants(leaseRole.rules).sort()).toEqual([
      "leases:create",
      "leases:get@edge-hub1+edge-hub2",
      "leases:update@edge-hub1+edge-hub2",
    ]);
  });

  it("refuses a node without a Functions URL, naming the value", async () => {
    const failure = await render([
      "--set=nodes[0].name=edge-hub1,nodes[0].hubName=hub1,nodes[0].functionKeySecret.name=k",
    ]).catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(CommandFailedError);
    expect((failure as CommandFailedError).message).toContain("nodes[0].functionsUrl is required");
  });
});
