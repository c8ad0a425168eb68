// `iot-edge-connector translate FILE.yaml`: prints the IoT Edge deployment of every pod (or pod
// template) in the file, using the ConfigMaps and Secrets of the same file as the cluster's; with
// `--policy`, decides each pod under a fleet policy as the connector would, refusals and all.
import { readFile } from "node:fs/promises";
import { parseArgs } from "node:util";
import { formatProblem, PodTranslationError } from "../translate/podErrors.js";
import { podToDeployment } from "../translate/podToDeployment.js";
import { DocumentError, parseWorkloadDocuments } from "../translate/workloadDocuments.js";
import type { CliIo } from "./cliIo.js";
import { parse as parseYaml } from "yaml";
import {
  defaultNodePolicy,
  nodePolicyOf,
  parseFleetPolicy,
  parseNodePolicy,
  PolicyError,
  type NodePolicy,
} from "../policy/fleetPolicy.js";
import { decidePod } from "../policy/podPolicy.js";
import { refusalMessage } from "../policy/podRefusal.js";

export const translateUsage = `usage: iot-edge-connector translate FILE.yaml [--hub NAME] [--no-validate]
                                    [--policy POLICY.yaml|default [--node NAME]]

Prints the IoT Hub configuration (IoT Edge deployment) of each pod, or pod template of a
Deployment, ReplicaSet, StatefulSet, DaemonSet or Job, in FILE ("-" reads standard input):
one JSON object for one pod, a JSON array for several. ConfigMaps and Secrets in FILE stand in
for the cluster's.

options:
  --hub NAME      the IoT Hub's name; it becomes part of the configuration ids
  --validate      check each deployment against the IoT Edge schemas (the default)
  --no-validate   skip that check
  --policy FILE   decide each pod as the connector does under a fleet policy (docs/fleet-policy.md):
                  a FLEET_POLICY document (nodes: ...) or one node's policy; "default" for the
                  policy of a node nobody wrote one for
  --node NAME     the virtual node whose policy applies (needed when FILE lists several)
exit status: 0 translated, 1 a pod was refused or a file is not valid, 2 usage error`;

export async function translateCommand(argv: string[], io: CliIo): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: true,
      allowNegative: true,
      options: {
        hub: { type: "string" },
        validate: { type: "boolean", default: true },
        policy: { type: "string" },
        node: { type: "string" },
        help: { type: "boolean" },
      },
    });
  } catch (error) {
    io.stderr(`${(error as Error).message}\n${translateUsage}\n`);
    return 2;
  }
  if (parsed.values.help) {
    io.stdout(`${translateUsage}\n`);
    return 0;
  }
  const [file, ...extra] = parsed.positionals;
  if (file === undefined || extra.length > 0) {
    io.stderr(`translate takes exactly one FILE\n${translateUsage}\n`);
    return 2;
  }
  if (parsed.values.node !== undefined && parsed.values.policy === undefined) {
    io.stderr(`--node needs --policy\n${translateUsage}\n`);
    return 2;
  }
  let policy: { name: string; policy: NodePolicy } | undefined;
  if (parsed.values.policy !== undefined) {
    try {
      policy = await readPolicy(parsed.values.policy, parsed.values.node);
    } catch (error) {
      const problems =
        error instanceof PolicyError ? error.problems : [{ field: "", reason: (error as Error).message }];
      for (const problem of problems)
        io.stderr(
          `error: ${parsed.values.policy}: ${problem.field ? `${problem.field}: ` : ""}${problem.reason}\n`,
        );
      return 1;
    }
  }

  let documents;
  try {
    const text = file === "-" ? await io.readStdin() : await readFile(file, "utf8");
    documents = parseWorkloadDocuments(text);
  } catch (error) {
    const message = error instanceof DocumentError ? error.message : (error as Error).message;
    io.stderr(`error: ${file}: ${message}\n`);
    return 1;
  }
  for (const skipped of documents.skipped) io.stderr(`note: ${skipped}; skipped\n`);
  if (documents.pods.length === 0) {
    io.stderr(`error: ${file}: no Pod, Deployment, ReplicaSet, StatefulSet, DaemonSet or Job found\n`);
    return 1;
  }

  const configurations: unknown[] = [];
  let refused = 0;
  for (const { source, pod } of documents.pods) {
    const resolved = documents.references(podNamespace(pod));
    const options = { hubName: parsed.values.hub, validate: parsed.values.validate };
    if (policy !== undefined) {
      const decision = decidePod({ pod, resolved, node: policy.name, policy: policy.policy, ...options });
      if (!decision.allowed) {
        refused += 1;
        io.stderr(`error: ${source}: ${decision.refusal.reason}: ${refusalMessage(decision.refusal)}\n`);
        continue;
      }
      for (const warning of decision.translation.warnings)
        io.stderr(`warning: ${source}: ${formatProblem(warning)}\n`);
      configurations.push(decision.translation.configuration);
      continue;
    }
    try {
      const translation = podToDeployment(pod, resolved, options);
      for (const warning of translation.warnings)
        io.stderr(`warning: ${source}: ${formatProblem(warning)}\n`);
      configurations.push(translation.configuration);
    } catch (error) {
      if (!(error instanceof PodTranslationError)) throw error;
      refused += 1;
      for (const problem of error.problems) io.stderr(`error: ${source}: ${formatProblem(problem)}\n`);
    }
  }
  if (refused > 0) {
    io.stderr(`${refused} of ${documents.pods.length} pods refused\n`);
    return 1;
  }
  io.stdout(`${JSON.stringify(configurations.length === 1 ? configurations[0] : configurations, null, 2)}\n`);
  return 0;
}

/** The node's policy from FILE: a fleet policy document (pick --node) or one node's policy. */
async function readPolicy(
  file: string,
  node: string | undefined,
): Promise<{ name: string; policy: NodePolicy }> {
  if (file === "default") return { name: node ?? "virtual-node", policy: defaultNodePolicy };
  const document = parseYaml(await readFile(file, "utf8")) as unknown;
  if (typeof document !== "object" || document === null || !("nodes" in document))
    return { name: node ?? "virtual-node", policy: parseNodePolicy(document) };
  const fleet = parseFleetPolicy(document);
  const nodes = Object.keys(fleet.nodes);
  const name = node ?? (nodes.length === 1 ? nodes[0] : undefined);
  if (name === undefined)
    throw new Error(`lists ${nodes.length} nodes (${nodes.join(", ")}); name one with --node`);
  return { name, policy: nodePolicyOf(fleet, name) };
}

function podNamespace(pod: { metadata?: { namespace?: string } }): string {
  return pod.metadata?.namespace ?? "default";
}
