// `iot-edge-connector translate FILE.yaml`: prints the IoT Edge deployment of every pod (or pod
// template) in the file, using the ConfigMaps and Secrets of the same file as the cluster's.
import { readFile } from "node:fs/promises";
import { parseArgs } from "node:util";
import { formatProblem, PodTranslationError } from "../translate/podErrors.js";
import { podToDeployment } from "../translate/podToDeployment.js";
import { DocumentError, parseWorkloadDocuments } from "../translate/workloadDocuments.js";
import type { CliIo } from "./cliIo.js";

export const translateUsage = `usage: iot-edge-connector translate FILE.yaml [--hub NAME] [--no-validate]

Prints the IoT Hub configuration (IoT Edge deployment) of each pod, or pod template of a
Deployment, ReplicaSet, StatefulSet, DaemonSet or Job, in FILE ("-" reads standard input):
one JSON object for one pod, a JSON array for several. ConfigMaps and Secrets in FILE stand in
for the cluster's.

options:
  --hub NAME      the IoT Hub's name; it becomes part of the configuration ids
  --validate      check each deployment against the IoT Edge schemas (the default)
  --no-validate   skip that check
exit status: 0 translated, 1 a pod was refused or the file is not valid YAML, 2 usage error`;

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
    try {
      const translation = podToDeployment(pod, documents.references(podNamespace(pod)), {
        hubName: parsed.values.hub,
        validate: parsed.values.validate,
      });
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

function podNamespace(pod: { metadata?: { namespace?: string } }): string {
  return pod.metadata?.namespace ?? "default";
}
