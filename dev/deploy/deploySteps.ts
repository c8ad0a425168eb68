// The deployment from nothing, as the ordered commands it runs: Terraform, the Functions app's
// package, the adapter image, the function key, the chart. A runner executes them (or, for
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
}

/** What the deployment reads from `terraform output -json`. */
export interface TerraformOutputs {
  resource_group_name: string;
  function_app_name: string;
  container_registry_name: string | null;
  adapter_chart_values: {
    image?: { repository: string; tag: string };
    nodes: { name: string; functionKeySecret: { name: string; key: string } }[];
  };
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

  const chartValues = output("adapter_chart_values");
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

  const functionKey = (
    await runner.capture({
      title: "The Functions app's default function key",
      command: "az",
      args: ["functionapp", "keys", "list", ...app, "--query", "functionKeys.default", "--output", "tsv"],
    })
  ).trim();
  const secrets = [...new Map(chartValues.nodes.map((node) => [node.functionKeySecret.name, node])).values()];
  await runner.run({
    title: "The release namespace and the function key Secret the adapters mount",
    command: "kubectl",
    args: ["apply", "--filename", "-"],
    input: {
      describe: `Namespace ${options.namespace}; Secret ${secrets.map((node) => `${node.functionKeySecret.name} (key ${node.functionKeySecret.key})`).join(", ")} with the function key`,
      content: JSON.stringify({
        apiVersion: "v1",
        kind: "List",
        items: [
          { apiVersion: "v1", kind: "Namespace", metadata: { name: options.namespace } },
          ...secrets.map((node) => ({
            apiVersion: "v1",
            kind: "Secret",
            metadata: { name: node.functionKeySecret.name, namespace: options.namespace },
            stringData: { [node.functionKeySecret.key]: functionKey },
          })),
        ],
      }),
    },
  });
  await runner.run({
    title: "The adapter, one virtual node per hub",
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
    input: { describe: "terraform output adapter_chart_values", content: JSON.stringify(chartValues) },
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
