// The attack corpus (test/policy/attacks): hostile pods a tenant could write, each with what the
// fleet policy must make of it (expected.yaml), under the policy beside them. The CLI test and the
// provider API test read them from here, so both run exactly the same pods.
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { parse } from "yaml";

export const attacksDirectory = join(import.meta.dirname, "attacks");
export const attackPolicyFile = join(attacksDirectory, "fleet-policy.yaml");
export const attackNode = "plant-a";
export const attackHub = "hub1";

export type Expected = { reason: string; fields: string[]; hubOnly?: boolean } | { targetCondition: string };

export interface AttackCase {
  name: string;
  /** the YAML, with the generated parts in place */
  text: string;
  expected: Expected;
}

/** The pods too large to keep in the repository, made where their file says. */
function generated(text: string): string {
  const nested = `${'{\\"a\\":'.repeat(10_000)}1${"}".repeat(10_000)}`;
  return text.replace('"__NESTED__"', `"${nested}"`).replace('"__1MB__"', `"${"x".repeat(1024 * 1024)}"`);
}

export function attackCases(): AttackCase[] {
  const expected = parse(readFileSync(join(attacksDirectory, "expected.yaml"), "utf8")) as Record<
    string,
    Expected
  >;
  const files = readdirSync(attacksDirectory)
    .filter(
      (file) =>
        file.endsWith(".yaml") &&
        !["fleet-policy.yaml", "expected.yaml", "shared-collector.yaml"].includes(file),
    )
    .map((file) => file.slice(0, -".yaml".length))
    .sort();
  const missing = files.filter((name) => expected[name] === undefined);
  if (missing.length > 0) throw new Error(`expected.yaml says nothing of ${missing.join(", ")}`);
  return files.map((name) => ({
    name,
    text: generated(readFileSync(join(attacksDirectory, `${name}.yaml`), "utf8")),
    expected: expected[name]!,
  }));
}

export const sharedCollectorText = (): string =>
  readFileSync(join(attacksDirectory, "shared-collector.yaml"), "utf8");
