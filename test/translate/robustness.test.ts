// Whatever a YAML file or an API client sends, the translator answers with a deployment or a
// PodTranslationError naming fields: never a TypeError from a value of the wrong type, nor a
// RangeError from a value nested too deep.
import fc from "fast-check";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { PodTranslationError } from "../../lib/translate/podErrors.js";
import { podToDeployment } from "../../lib/translate/podToDeployment.js";
import { parseWorkloadDocuments } from "../../lib/translate/workloadDocuments.js";

const corpus = join(import.meta.dirname, "corpus");
const samples = readdirSync(corpus)
  .filter((file) => file.endsWith(".yaml") && !file.includes("too-large") && !file.includes("too-many"))
  .map((file) => {
    const documents = parseWorkloadDocuments(readFileSync(join(corpus, file), "utf8"));
    const pod = documents.pods[0]!.pod;
    return { file, pod, resolved: documents.references(pod.metadata?.namespace ?? "default") };
  });

/** Every path to a value inside an object, so a property can replace one of them. */
function paths(value: unknown, prefix: (string | number)[] = []): (string | number)[][] {
  if (typeof value !== "object" || value === null) return [prefix];
  const entries = Array.isArray(value)
    ? value.map((item, index) => [index, item] as const)
    : Object.entries(value);
  return [prefix, ...entries.flatMap(([key, item]) => paths(item, [...prefix, key]))];
}

function replaced(root: unknown, path: (string | number)[], value: unknown): unknown {
  if (path.length === 0) return value;
  const copy = structuredClone(root) as Record<string | number, unknown>;
  let node = copy;
  for (const key of path.slice(0, -1)) node = node[key] as Record<string | number, unknown>;
  node[path.at(-1)!] = value;
  return copy;
}

describe("translator robustness", () => {
  it("refuses, never crashes, when any value of a pod is replaced by any JSON value", () => {
    fc.assert(
      fc.property(
        fc.constantFrom(...samples),
        fc.nat(),
        fc.oneof(fc.jsonValue({ maxDepth: 2 }), fc.constant(undefined)),
        (sample, choice, value) => {
          const all = paths(sample.pod);
          const path = all[choice % all.length]!;
          const pod = replaced(sample.pod, path, value) as typeof sample.pod;
          try {
            podToDeployment(pod, sample.resolved);
          } catch (error) {
            if (!(error instanceof PodTranslationError)) {
              throw new Error(
                `${sample.file} with ${path.join(".")} = ${JSON.stringify(value)}: ${String(error)}`,
              );
            }
            expect(error.problems.length).toBeGreaterThan(0);
          }
        },
      ),
      { numRuns: 2000 },
    );
  });

  const minimal = samples.find((sample) => sample.file === "minimal-pod.yaml")!;
  const nested = (levels: number) => `${'{"a":'.repeat(levels)}1${"}".repeat(levels)}`;
  function translated(pod: unknown, resolved = minimal.resolved): unknown {
    try {
      return podToDeployment(pod as typeof minimal.pod, resolved);
    } catch (error) {
      if (error instanceof PodTranslationError) return { reason: error.reason, problems: error.problems };
      throw error;
    }
  }
  const withAnnotation = (name: string, value: string) => ({
    ...minimal.pod,
    metadata: {
      ...minimal.pod.metadata,
      annotations: { ...minimal.pod.metadata?.annotations, [name]: value },
    },
  });
  const container = minimal.pod.spec!.containers[0]!.name;

  it.each([
    [
      "10 KB of nested twin JSON in an annotation",
      withAnnotation(`iotedge.connector/twin.${container}`, nested(2_000)),
      `metadata.annotations[iotedge.connector/twin.${container}]`,
    ],
    [
      "10,000 levels in an annotation",
      withAnnotation(`iotedge.connector/twin.${container}`, nested(10_000)),
      `metadata.annotations[iotedge.connector/twin.${container}]`,
    ],
    [
      "a 1 MB annotation",
      withAnnotation("iotedge.connector/labels", `"${"x".repeat(1024 * 1024)}"`),
      "metadata.annotations",
    ],
  ])("refuses %s as InputTooLarge, naming the field, never with a RangeError", (_, pod, field) => {
    expect(translated(pod)).toEqual({
      reason: "InputTooLarge",
      problems: [{ field, reason: expect.any(String) }],
    });
  });

  it("refuses a pod object nested deeper than any pod, and deep JSON in a ConfigMap or a Secret", () => {
    let deep: Record<string, unknown> = {};
    const root = deep;
    for (let level = 0; level < 10_000; level += 1) deep = deep.a = {};
    expect(translated({ ...minimal.pod, spec: { ...minimal.pod.spec, extra: root } })).toMatchObject({
      reason: "InputTooLarge",
      problems: [{ field: "pod" }],
    });
    const resolved = {
      configMaps: { twin: { data: { desiredProperties: nested(100) } } },
      secrets: { pull: { data: { ".dockerconfigjson": Buffer.from(nested(100)).toString("base64") } } },
    };
    expect(translated(minimal.pod, resolved)).toEqual({
      reason: "InputTooLarge",
      problems: [
        {
          field: "configmap/twin.data.desiredProperties",
          reason: "nests 100 levels deep; the connector reads at most 32",
        },
        {
          field: "secret/pull.data..dockerconfigjson",
          reason: "nests 100 levels deep; the connector reads at most 32",
        },
      ],
    });
  });
});
