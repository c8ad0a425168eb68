// `npm run deploy`: its dry run as an operator sees it (the script run as its own process, offline),
// and the steps with Terraform outputs that have no registry.
import { execFile } from "node:child_process";
import path from "node:path";
import { promisify } from "node:util";
import { describe, expect, it } from "vitest";
import { projectNode } from "../../../dev/package/compileApp.js";
import { deployToAzure, type DeployStep } from "../../../dev/deploy/deploySteps.js";

const root = path.resolve(import.meta.dirname, "../../..");

async function dryRun(...args: string[]): Promise<string[]> {
  const { stdout } = await promisify(execFile)(
    projectNode,
    ["--import", "tsx", "dev/deploy/main.ts", "--dry-run", ...args],
    { cwd: root, encoding: "utf8", env: { ...process.env, PATH: "/nonexistent", INIT_CWD: root } },
  );
  return stdout.split("\n").filter((line) => line !== "" && !line.startsWith("#"));
}

describe("npm run deploy", () => {
  it("prints every command in order, with the var file and the Terraform outputs they use, and runs none", async () => {
    // PATH holds no terraform, az, kubectl or helm: a step that ran would fail the script.
    const commands = await dryRun("--var-file", "connector.tfvars", "--yes");
    expect(commands).toEqual([
      "terraform -chdir=infra init -input=false",
      `terraform -chdir=infra apply -input=false -var-file=${path.join(root, "connector.tfvars")} -auto-approve`,
      "terraform -chdir=infra output -json",
      "npm run package:functions",
      "az functionapp deployment source config-zip --resource-group '<resource_group_name>' --name '<function_app_name>' --src .cache/package/functions.zip",
      "az acr build --registry '<container_registry_name>' --image 'iot-edge-connector/adapter:<tag>' --file Dockerfile .",
      "kubectl apply --filename - < (Namespace iot-edge-connector; Secret <node>-key (key functionKey) with the node's key)",
      'helm upgrade --install iot-edge-connector charts/iot-edge-connector --namespace iot-edge-connector --values - --wait --timeout 5m < (terraform output adapter_chart_values["<cluster>"])',
      "kubectl get nodes --selector type=virtual-kubelet --output wide",
    ]);
  });

  it("asks before applying unless --yes, and installs into the namespace and release given", async () => {
    const commands = await dryRun("--var-file=/tmp/x.tfvars", "--namespace=edge", "--release=conn");
    expect(commands[1]).toBe("terraform -chdir=infra apply -input=false -var-file=/tmp/x.tfvars");
    expect(commands.find((c) => c.startsWith("helm"))).toMatch(
      /^helm upgrade --install conn \S+ --namespace edge /,
    );
  });

  it("installs the cluster asked for, each node with its own key on stdin only, and the chart's default image without a registry", async () => {
    const node = (cluster: string, hub: string) => ({
      name: `iot-edge-${hub}`,
      hubName: hub,
      functionsUrl: "https://edgeconn-edge-abc123.azurewebsites.net/api",
      functionKeySecret: { name: `iot-edge-${hub}-key`, key: "functionKey" },
      namespaces: [`${cluster}-line`],
    });
    const outputs = {
      resource_group_name: "edgeconn-rg",
      function_app_name: "edgeconn-edge-abc123",
      container_registry_name: null,
      adapter_chart_values: {
        east: { nodes: [node("east", "plant-a"), node("east", "plant-b")] },
        west: { nodes: [node("west", "plant-a")] },
      },
      node_keys: {
        "east/iot-edge-plant-a": "key-east-a",
        "east/iot-edge-plant-b": "key-east-b",
        "west/iot-edge-plant-a": "key-west-a",
      },
    };
    const deploy = async (cluster?: string) => {
      const steps: DeployStep[] = [];
      const notes: string[] = [];
      await deployToAzure(
        {
          varFile: "/tmp/connector.tfvars",
          namespace: "iot-edge-connector",
          release: "iot-edge-connector",
          autoApprove: false,
          ...(cluster !== undefined && { cluster }),
        },
        {
          run: (step) => Promise.resolve(void steps.push(step)),
          capture: (step) => {
            steps.push(step);
            return Promise.resolve(
              JSON.stringify(Object.fromEntries(Object.entries(outputs).map(([k, value]) => [k, { value }]))),
            );
          },
          say: (line) => void notes.push(line),
        },
      );
      return { steps, notes };
    };

    await expect(deploy()).rejects.toThrow(
      "--cluster: name the cluster to install (Terraform knows east, west)",
    );
    await expect(deploy("north")).rejects.toThrow("--cluster north: not a cluster of virtual_nodes");

    const { steps, notes } = await deploy("east");
    expect(steps.some((step) => step.args.includes("acr"))).toBe(false);
    expect(notes[0]).toMatch(/chart's default image/);
    expect(JSON.stringify(steps.map((step) => [step.command, step.args, step.input?.describe]))).not.toMatch(
      /key-(east|west)/,
    );
    const secretStep = steps.find((step) => step.command === "kubectl" && step.args[0] === "apply");
    const manifest = JSON.parse(secretStep?.input?.content ?? "{}") as {
      items: { kind: string; metadata: { name: string }; stringData?: object }[];
    };
    expect(manifest.items.map((item) => [item.kind, item.metadata.name, item.stringData])).toEqual([
      ["Namespace", "iot-edge-connector", undefined],
      ["Secret", "iot-edge-plant-a-key", { functionKey: "key-east-a" }],
      ["Secret", "iot-edge-plant-b-key", { functionKey: "key-east-b" }],
    ]);
    const helmStep = steps.find((step) => step.command === "helm");
    expect(JSON.parse(helmStep?.input?.content ?? "{}")).toEqual(outputs.adapter_chart_values.east);
  });
});
