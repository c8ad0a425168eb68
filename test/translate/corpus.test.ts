// The translation corpus: real pod YAML a user would write, each beside the deployment it must
// become (or the problems it must be refused with). Set UPDATE_CORPUS=1 to rewrite the expected
// files after a deliberate change, then review the diff before committing it.
import { existsSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { validateDeployment } from "../../lib/translate/deploymentSchemas.js";
import { PodTranslationError } from "../../lib/translate/podErrors.js";
import { podToDeployment } from "../../lib/translate/podToDeployment.js";
import { parseWorkloadDocuments } from "../../lib/translate/workloadDocuments.js";

const corpus = join(import.meta.dirname, "corpus");
const cases = readdirSync(corpus)
  .filter((file) => file.endsWith(".yaml"))
  .map((file) => file.slice(0, -".yaml".length))
  .sort();

function outcome(name: string): unknown {
  const documents = parseWorkloadDocuments(readFileSync(join(corpus, `${name}.yaml`), "utf8"));
  expect(documents.pods).toHaveLength(1);
  const pod = documents.pods[0]?.pod;
  if (!pod) throw new Error(`${name}.yaml holds no pod`);
  try {
    const translation = podToDeployment(pod, documents.references(pod.metadata?.namespace ?? "default"));
    expect(validateDeployment(translation.configuration)).toEqual([]);
    return { configuration: translation.configuration, warnings: translation.warnings };
  } catch (error) {
    if (!(error instanceof PodTranslationError)) throw error;
    return { problems: error.problems };
  }
}

describe("translation corpus", () => {
  it("has at least 40 pods, half of them refused at most", () => {
    expect(cases.length).toBeGreaterThanOrEqual(40);
    const refusals = cases.filter((name) => name.startsWith("refuse-"));
    expect(refusals.length).toBeGreaterThanOrEqual(10);
    expect(refusals.length).toBeLessThanOrEqual(cases.length / 2);
  });

  it.each(cases)("%s", (name) => {
    const expectedFile = join(corpus, `${name}.expected.json`);
    const actual = outcome(name);
    if (process.env.UPDATE_CORPUS === "1")
      writeFileSync(expectedFile, `${JSON.stringify(actual, null, 2)}\n`);
    expect(existsSync(expectedFile), `${name}.expected.json is missing`).toBe(true);
    const expected = JSON.parse(readFileSync(expectedFile, "utf8"));
    expect(actual).toEqual(expected);
    // A refused pod's file is named for it, so a refusal can never pass as a translation.
    expect("problems" in (expected as object)).toBe(name.startsWith("refuse-"));
  });
});
