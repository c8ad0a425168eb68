// `npm run deploy -- --var-file connector.tfvars [--cluster ID] [--dry-run] [--yes] [--namespace NS] [--release NAME]`:
// from an empty subscription to the adapter installed (docs/deploy-to-azure.md). --dry-run prints
// every command in order and runs none (Terraform outputs and the nodes' keys are placeholders).
import { spawn } from "node:child_process";
import path from "node:path";
import { parseArgs } from "node:util";
import { runCommand } from "../cluster/commands.js";
import { deployToAzure, type DeployRunner, type DeployStep } from "./deploySteps.js";

const root = path.resolve(import.meta.dirname, "../..");

const { values } = parseArgs({
  options: {
    "var-file": { type: "string" },
    cluster: { type: "string" },
    "dry-run": { type: "boolean", default: false },
    yes: { type: "boolean", default: false },
    namespace: { type: "string", default: "iot-edge-connector" },
    release: { type: "string", default: "iot-edge-connector" },
  },
  strict: true,
});
if (!values["var-file"]) {
  process.stderr.write(
    "usage: npm run deploy -- --var-file <connector.tfvars> [--cluster <id>] [--dry-run] [--yes]\n",
  );
  process.exit(2);
}

/** A command line as a shell would take it back. */
function commandLine(step: DeployStep): string {
  const quote = (word: string) =>
    /^[-\w./:=@,+]+$/.test(word) ? word : `'${word.replaceAll("'", "'\\''")}'`;
  const line = [step.command, ...step.args].map(quote).join(" ");
  return step.input ? `${line} < (${step.input.describe})` : line;
}

const say = (line: string) => process.stdout.write(`${line}\n`);

const dryRun: DeployRunner = {
  run(step) {
    say(`# ${step.title}`);
    say(commandLine(step));
    return Promise.resolve();
  },
  async capture(step) {
    await this.run(step);
    return JSON.stringify(placeholderOutputs);
  },
  say: (line) => say(`# ${line}`),
};

// Placeholders, as if Terraform had made a registry (the az acr build step shows).
const placeholderOutputs = Object.fromEntries(
  Object.entries({
    resource_group_name: "<resource_group_name>",
    function_app_name: "<function_app_name>",
    container_registry_name: "<container_registry_name>",
    adapter_chart_values: {
      "<cluster>": {
        image: {
          repository: "<container_registry_name>.azurecr.io/iot-edge-connector/adapter",
          tag: "<tag>",
        },
        nodes: [{ name: "<node>", functionKeySecret: { name: "<node>-key", key: "functionKey" } }],
      },
    },
    node_keys: { "<cluster>/<node>": "<the node's key>" },
  }).map(([name, value]) => [name, { value }]),
);

const live: DeployRunner = {
  async run(step) {
    say(`\n# ${step.title}\n$ ${commandLine(step)}`);
    const child = spawn(step.command, step.args, {
      cwd: root,
      stdio: [step.input ? "pipe" : "inherit", "inherit", "inherit"],
    });
    child.stdin?.end(step.input?.content);
    const exitCode = await new Promise<number | null>((resolve, reject) => {
      child.once("error", reject);
      child.once("close", resolve);
    });
    if (exitCode !== 0) throw new Error(`${step.command} ${step.args[0] ?? ""} failed (exit ${exitCode})`);
  },
  async capture(step) {
    say(`\n# ${step.title}\n$ ${commandLine(step)}`);
    return (
      await runCommand(step.command, step.args, { cwd: root, displayName: `${step.command} ${step.args[0]}` })
    ).stdout;
  },
  say,
};

try {
  await deployToAzure(
    {
      // npm runs scripts from the package root; the path is the operator's, from where they typed it.
      varFile: path.resolve(process.env.INIT_CWD ?? process.cwd(), values["var-file"]),
      namespace: values.namespace,
      release: values.release,
      autoApprove: values.yes,
      ...(values.cluster !== undefined && { cluster: values.cluster }),
    },
    values["dry-run"] ? dryRun : live,
  );
} catch (error) {
  const reason =
    (error as NodeJS.ErrnoException).code === "ENOENT"
      ? `not installed: ${(error as { path?: string }).path}`
      : (error as Error).message;
  process.stderr.write(`deploy stopped: ${reason}\n`);
  process.exit(1);
}
