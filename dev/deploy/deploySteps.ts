// The deployment from nothing, as the ordered commands it runs: Terraform, the Functions app's
// package, the adapter image, each virtual node's key, the chart (for one cluster). A runner executes them (or, for
// --dry-run, prints them); the steps never see how.

export interface DeployStep {
  /** what the step is for, printed before it */
  title: string;
  command: string;
  args: string[];
  /** stdin: a document the deployment made; only `describe` is ever printed (it may hold a secret) */
  input?: { describe: string; content: string };
}

export interface DeployRunner {
  /** runs a step with the terminal attached (prompts and progress stay visible) */
  run(step: DeployStep): Promise<void>;
  /** runs a step whose standard output the deployment needs */
  capture(step: DeployStep): Promise<string>;
  /** a line for the operator */
  say(line: string): void;
}

export interface DeployOptions {
  /** absolute path: terraform runs with -chdir=infra */
  varFile: string;
  namespace: string;
  release: string;
  /** terraform apply -auto-approve */
  autoApprove: boolean;
  /** the cluster id (virtual_nodes[].cluster) to install; may be left out when there is one */
  cluster?: string;
}

/** What the deployment reads from `terraform output -json`. */
export interface TerraformOutputs {
  resource_group_name: string;
  function_app_name: string;
  container_registry_name: string | null;
  /** per cluster id */
  adapter_chart_values: Record<string, ChartValues>;
  /** "<cluster>/<node>" → the node's key (sensitive) */
  node_keys: Record<string, string>;
}

interface ChartValues {
  image?: { repository: string; tag: string };
  nodes: { name: string; functionKeySecret: { name: string; key: string } }[];
}

/** The cluster to install: the one asked for, or the only one Terraform knows. */
function chosenCluster(clusters: readonly string[], asked: string | undefined): string {
  const known = clusters.length > 0 ? clusters.join(", ") : "none";
  if (asked !== undefined) {
    if (!clusters.includes(asked))
      throw new Error(`--cluster ${asked}: not a cluster of virtual_nodes (Terraform knows ${known})`);
    return asked;
  }
  if (clusters.length !== 1)
    throw new Error(`--cluster: name the cluster to install (Terraform knows ${known})`);
  return clusters[0] as string;
}

export const functionsPackage = ".cache/package/functions.zip";

export async function deployToAzure(options: DeployOptions, runner: DeployRunner): Promise<void> {
  const terraform = (title: string, ...args: string[]): DeployStep => ({
    title,
    command: "terraform",
    args: ["-chdir=infra", ...args],
  });
  await runner.run(terraform("Terraform: providers and modules", "init", "-input=false"));
  await runner.run(
    terraform(
      "Terraform: the Azure resources (resource group, Functions app, storage, Key Vault, hubs, registry)",
      "apply",
      "-input=false",
      `-var-file=${options.varFile}`,
      ...(options.autoApprove ? ["-auto-approve"] : []),
    ),
  );
  const outputs = JSON.parse(
    await runner.capture(terraform("Terraform: the outputs the next steps need", "output", "-json")),
  ) as Record<keyof TerraformOutputs, { value: unknown }>;
  const output = <K extends keyof TerraformOutputs>(name: K) => outputs[name].value as TerraformOutputs[K];
  const app = ["--resource-group", output("resource_group_name"), "--name", output("function_app_name")];

  await runner.run({
    title: "The Functions app's package (compiled app, production dependencies)",
    command: "npm",
    args: ["run", "package:functions"],
  });
  await runner.run({
    title: "Publish the package to the Functions app (no remote build)",
    command: "az",
    args: ["functionapp", "deployment", "source", "config-zip", ...app, "--src", functionsPackage],
  });

  const cluster = chosenCluster(Object.keys(output("adapter_chart_values")).sort(), options.cluster);
  const chartValues = output("adapter_chart_values")[cluster] as ChartValues;
  const nodeKeys = output("node_keys");
  const registry = output("container_registry_name");
  if (registry !== null && chartValues.image) {
    // az acr build names the image relative to the registry's login server.
    const repository = chartValues.image.repository.slice(chartValues.image.repository.indexOf("/") + 1);
    await runner.run({
      title: "The adapter image, built in the registry (no local Docker engine)",
      command: "az",
      args: [
        "acr",
        "build",
        "--registry",
        registry,
        "--image",
        `${repository}:${chartValues.image.tag}`,
        "--file",
        "Dockerfile",
        ".",
      ],
    });
  } else {
    runner.say(
      "No adapter_registry in the Terraform variables: the chart's default image (published by .github/workflows/adapter-image.yml).",
    );
  }

  await runner.run({
    title:
      "The release namespace and each virtual node's key Secret (the key its adapter calls the app with)",
    command: "kubectl",
    args: ["apply", "--filename", "-"],
    input: {
      describe: `Namespace ${options.namespace}; Secret ${chartValues.nodes.map((node) => `${node.functionKeySecret.name} (key ${node.functionKeySecret.key})`).join(", ")} with the node's key`,
      content: JSON.stringify({
        apiVersion: "v1",
        kind: "List",
        items: [
          { apiVersion: "v1", kind: "Namespace", metadata: { name: options.namespace } },
          ...chartValues.nodes.map((node) => {
            const key = nodeKeys[`${cluster}/${node.name}`];
            if (key === undefined) throw new Error(`node_keys has no key for ${cluster}/${node.name}`);
            return {
              apiVersion: "v1",
              kind: "Secret",
              metadata: { name: node.functionKeySecret.name, namespace: options.namespace },
              stringData: { [node.functionKeySecret.key]: key },
            };
          }),
        ],
      }),
    },
  });
  await runner.run({
    title: `The adapter: cluster ${cluster}'s virtual nodes`,
    command: "helm",
    args: [
      "upgrade",
      "--install",
      options.release,
      "charts/iot-edge-connector",
      "--namespace",
      options.namespace,
      "--values",
      "-",
      "--wait",
      "--timeout",
      "5m",
    ],
    input: {
      describe: `terraform output adapter_chart_values["${cluster}"]`,
      content: JSON.stringify(chartValues),
    },
  });
  await runner.run({
    title: "The virtual nodes",
    command: "kubectl",
    args: ["get", "nodes", "--selector", "type=virtual-kubelet", "--output", "wide"],
  });
  for (const line of [
    "Check: a workload on the devices (a hub's devices tagged environment=dev run it):",
    "  kubectl apply -f examples/temperature-sensor.yaml",
    "  kubectl get pods -l app=tempsensor -o wide     # Running once a device runs the module",
    "  kubectl describe pod -l app=tempsensor         # fleet counts and events",
  ])
    runner.say(line);
}
