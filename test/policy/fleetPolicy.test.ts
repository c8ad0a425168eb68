// The fleet policy's format: YAML or JSON, checked field by field, and the JSON Schema published
// beside its documentation.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { Ajv2020 } from "ajv/dist/2020.js";
import { describe, expect, it } from "vitest";
import { parse } from "yaml";
import {
  defaultNodePolicy,
  fleetPolicyJsonSchema,
  namespaceEntry,
  nodePolicyOf,
  parseFleetPolicy,
  parseNodePolicy,
  PolicyError,
} from "../../lib/policy/fleetPolicy.js";
import { attackPolicyFile } from "./attackCorpus.js";

const root = join(import.meta.dirname, "../..");
const schemaFile = join(root, "docs/fleet-policy.schema.json");

function problems(input: unknown): { field: string; reason: string }[] {
  try {
    parseFleetPolicy(input);
  } catch (error) {
    if (error instanceof PolicyError) return [...error.problems];
    throw error;
  }
  throw new Error("the policy was accepted");
}

/** The YAML blocks of docs/fleet-policy.md that are whole policies. */
function documentedPolicies(): unknown[] {
  const markdown = readFileSync(join(root, "docs/fleet-policy.md"), "utf8");
  return [...markdown.matchAll(/```yaml\n([\s\S]*?)```/g)]
    .map((match) => parse(match[1] ?? "") as unknown)
    .filter((value) => typeof value === "object" && value !== null && "nodes" in value);
}

describe("fleet policy format", () => {
  it("reads YAML and JSON alike, with the namespace's grants defaulting to none", () => {
    const yaml = parseFleetPolicy(`
nodes:
  plant-a:
    scope: "tags.site = 'plant-a'"
    namespaces:
      line-1: { hostPorts: [1883, "8000-8099"], registries: [Contoso.azurecr.io/line-1/] }
`);
    const json = parseFleetPolicy(
      JSON.stringify({
        nodes: {
          "plant-a": {
            scope: "tags.site = 'plant-a'",
            namespaces: {
              "line-1": { hostPorts: [1883, "8000-8099"], registries: ["Contoso.azurecr.io/line-1/"] },
            },
          },
        },
      }),
    );
    expect(json).toEqual(yaml);
    expect(yaml.nodes["plant-a"]?.namespaces["line-1"]).toEqual({
      grants: [],
      hostPorts: [
        { from: 1883, to: 1883 },
        { from: 8000, to: 8099 },
      ],
      registries: ["contoso.azurecr.io/line-1"],
    });
  });

  it("refuses a bad policy naming every field and the reason", () => {
    const found = problems({
      nodes: {
        "plant-a": {
          scope: "tags.site = 'plant-a' OR",
          namespaces: {
            "line-1": {
              grants: ["root"],
              priority: { min: 50, max: 10 },
              hostPaths: ["srv/data", "/srv/../etc"],
              hostPorts: ["9000-8000"],
            },
            Line_2: {},
          },
          namespace: {},
        },
      },
    });
    const fields = found.map((problem) => problem.field);
    expect(fields).toEqual(
      expect.arrayContaining([
        "nodes.plant-a.scope",
        "nodes.plant-a.namespaces.line-1.grants[0]",
        "nodes.plant-a.namespaces.line-1.priority",
        "nodes.plant-a.namespaces.line-1.hostPaths[0]",
        "nodes.plant-a.namespaces.line-1.hostPaths[1]",
        "nodes.plant-a.namespaces.line-1.hostPorts[0]",
        "nodes.plant-a.namespaces.Line_2",
        "nodes.plant-a",
      ]),
    );
    expect(found.find((p) => p.field === "nodes.plant-a.scope")?.reason).toMatch(
      /is not an IoT Hub device condition/,
    );
    expect(found.find((p) => p.field === "nodes.plant-a")?.reason).toMatch(/namespace/);
  });

  it("names the line of YAML that does not parse", () => {
    expect(problems("nodes:\n  plant-a: [unclosed\n")[0]?.reason).toMatch(
      /^is not YAML or JSON: .* at line 3, column 1:$/,
    );
  });

  it("gives a node nobody wrote a policy for the default, and a node the written policy leaves out nothing", () => {
    expect(nodePolicyOf(undefined, "plant-a")).toBe(defaultNodePolicy);
    const written = parseFleetPolicy({ nodes: { "plant-a": { namespaces: { "*": {} } } } });
    expect(nodePolicyOf(written, "plant-a")).toEqual({ namespaces: { "*": { grants: [] } } });
    expect(nodePolicyOf(written, "plant-b")).toEqual({ namespaces: {} });
  });

  it("governs a namespace by its own entry, else the longest matching prefix, else *", () => {
    const policy = parseNodePolicy({
      namespaces: { "line-1": {}, "line-*": {}, "line-1*": {}, "*": {} },
    });
    expect(namespaceEntry(policy, "line-1")?.key).toBe("line-1");
    expect(namespaceEntry(policy, "line-10")?.key).toBe("line-1*");
    expect(namespaceEntry(policy, "line-2")?.key).toBe("line-*");
    expect(namespaceEntry(policy, "office")?.key).toBe("*");
    expect(namespaceEntry(parseNodePolicy({ namespaces: { "line-*": {} } }), "office")).toBeUndefined();
  });

  it("publishes the JSON Schema the code checks with (docs/fleet-policy.schema.json)", () => {
    expect(JSON.parse(readFileSync(schemaFile, "utf8"))).toEqual(fleetPolicyJsonSchema());
  });

  it("the published schema accepts the documented policies and the attack corpus's, and refuses a typo", () => {
    const validate = new Ajv2020({ strict: false }).compile(JSON.parse(readFileSync(schemaFile, "utf8")));
    const policies = [...documentedPolicies(), parse(readFileSync(attackPolicyFile, "utf8"))];
    expect(policies.length).toBeGreaterThanOrEqual(2);
    for (const policy of policies) {
      expect(validate(policy), JSON.stringify(validate.errors)).toBe(true);
      expect(() => parseFleetPolicy(policy)).not.toThrow();
    }
    expect(validate({ nodes: { "plant-a": { namespace: {} } } })).toBe(false);
  });
});
