// The fleet policy's promise about devices: whatever target condition a pod gives, and whatever
// scopes the node and the namespace have, a pod the policy accepts targets only devices inside both
// scopes. Checked over random conditions and random device twins with the project's own parser
// and evaluator (lib/hub/twinQuery.ts), which the simulator and the app's fleet status share.
import fc from "fast-check";
import type { V1Pod } from "@kubernetes/client-node";
import { describe, expect, it } from "vitest";
import {
  evaluateTwinCondition,
  formatTwinCondition,
  parseTargetCondition,
  parseTwinCondition,
  type Condition,
} from "../../lib/hub/twinQuery.js";
import { parseNodePolicy } from "../../lib/policy/fleetPolicy.js";
import { decidePod } from "../../lib/policy/podPolicy.js";
import { condition, twin } from "./conditionArbitraries.js";

/** The text of a condition when it can be printed (strings with both quotes cannot). */
function printable(ast: Condition): string | undefined {
  try {
    return formatTwinCondition(ast);
  } catch {
    return undefined;
  }
}

/** Hostile text a pod could write instead of a condition: fragments glued together. */
const hostileText = fc
  .array(
    fc.constantFrom(
      "tags.site = 'a'",
      "*",
      " OR ",
      " AND ",
      "NOT ",
      "(",
      ")",
      "true",
      "'",
      '"',
      "\\",
      "--",
      "/*",
      "tags.owner = 'b'",
      "1=1",
      "[[",
      "]]",
    ),
    { minLength: 1, maxLength: 8 },
  )
  .map((parts) => parts.join(""));

const podCondition = fc.oneof(
  condition.map(printable).filter((text) => text !== undefined),
  hostileText,
);
const scope = fc.option(
  condition.map(printable).filter((text) => text !== undefined),
  { nil: undefined },
);

function pod(targetCondition: string): V1Pod {
  return {
    metadata: {
      name: "probe",
      namespace: "tenant",
      annotations: { "iotedge.connector/target-condition": targetCondition },
    },
    spec: { containers: [{ name: "probe", image: "contoso.azurecr.io/probe:1" }] },
  };
}

describe("device scope", () => {
  it("a condition prints as text that parses back to the same condition", () => {
    fc.assert(
      fc.property(condition, (ast) => {
        const text = printable(ast);
        fc.pre(text !== undefined);
        expect(parseTwinCondition(text)).toEqual(ast);
      }),
      { numRuns: 500 },
    );
  });

  it("a pod the policy accepts targets only devices inside the node's and the namespace's scope", () => {
    let accepted = 0;
    fc.assert(
      fc.property(
        podCondition,
        scope,
        scope,
        fc.array(twin, { minLength: 20, maxLength: 20 }),
        (text, nodeScope, namespaceScope, twins) => {
          const policy = parseNodePolicy({
            ...(nodeScope !== undefined && { scope: nodeScope }),
            namespaces: { tenant: namespaceScope !== undefined ? { scope: namespaceScope } : {} },
          });
          const decision = decidePod({ pod: pod(text), node: "plant-a", policy });
          if (!decision.allowed) return;
          accepted += 1;
          const submitted = parseTargetCondition(decision.translation.configuration.targetCondition);
          const scopes = [nodeScope, namespaceScope].flatMap((s) =>
            s === undefined ? [] : [parseTargetCondition(s)],
          );
          for (const device of twins) {
            if (!evaluateTwinCondition(submitted, device)) continue;
            for (const required of scopes) expect(evaluateTwinCondition(required, device)).toBe(true);
          }
        },
      ),
      { numRuns: 400 },
    );
    // the property says something only if many pods were accepted
    expect(accepted).toBeGreaterThan(100);
  });
});
