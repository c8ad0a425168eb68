// The attack corpus through `iot-edge-connector translate --policy`, as an admin would try a pod:
// every hostile pod is refused with its reason and fields, every widening target condition comes
// out narrowed to the node's and the namespace's scope.
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import type { CliIo } from "../../lib/cli/cliIo.js";
import { main } from "../../lib/cli/main.js";
import { attackCases, attackHub, attackNode, attackPolicyFile } from "./attackCorpus.js";

const directory = mkdtempSync(join(tmpdir(), "attack-corpus-"));
afterAll(() => rmSync(directory, { recursive: true, force: true }));

async function translate(name: string, text: string) {
  const file = join(directory, `${name}.yaml`);
  writeFileSync(file, text);
  let stdout = "";
  let stderr = "";
  const io: CliIo = {
    stdout: (chunk) => (stdout += chunk),
    stderr: (chunk) => (stderr += chunk),
    readStdin: () => Promise.resolve(""),
  };
  const argv = ["translate", file, "--policy", attackPolicyFile, "--node", attackNode, "--hub", attackHub];
  const code = await main(argv, io);
  return { code, stdout, stderr };
}

const cases = attackCases();

describe("the attack corpus through the CLI", () => {
  it("holds at least 30 hostile pods the policy refuses", () => {
    expect(cases.filter(({ expected }) => "reason" in expected).length).toBeGreaterThanOrEqual(30);
  });

  it.each(cases)("$name", async ({ name, text, expected }) => {
    const { code, stdout, stderr } = await translate(name, text);
    if ("targetCondition" in expected) {
      expect(code, stderr).toBe(0);
      expect((JSON.parse(stdout) as { targetCondition: string }).targetCondition).toBe(
        expected.targetCondition,
      );
    } else if (expected.hubOnly) {
      // only the hub's scheduler knows the other workload: the CLI cannot refuse it
      expect(code, stderr).toBe(0);
    } else {
      expect(code).toBe(1);
      expect(stdout).toBe("");
      expect(stderr).toContain(`: ${expected.reason}: refused`);
      for (const field of expected.fields) expect(stderr).toContain(`${field}: `);
    }
  });
});
