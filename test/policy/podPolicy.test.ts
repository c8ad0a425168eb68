// decidePod beyond the attack corpus: the default policy leaves the original connector's use as it
// was, grants allow what they name, and a refusal names the field, the rule and the node.
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import type { V1Pod } from "@kubernetes/client-node";
import { describe, expect, it } from "vitest";
import {
  defaultNodePolicy,
  nodePolicyOf,
  parseFleetPolicy,
  parseNodePolicy,
} from "../../lib/policy/fleetPolicy.js";
import { decidePod, type PolicyDecision } from "../../lib/policy/podPolicy.js";
import { refusalMessage } from "../../lib/policy/podRefusal.js";
import { podToDeployment } from "../../lib/translate/podToDeployment.js";
import { parseWorkloadDocuments } from "../../lib/translate/workloadDocuments.js";

const corpus = join(import.meta.dirname, "../translate/corpus");
const samples = readdirSync(corpus)
  .filter((file) => file.endsWith(".yaml") && !file.startsWith("refuse-"))
  .map((file) => {
    const documents = parseWorkloadDocuments(readFileSync(join(corpus, file), "utf8"));
    const pod = documents.pods[0]!.pod;
    return { file, pod, resolved: documents.references(pod.metadata?.namespace ?? "default") };
  });

function refusal(decision: PolicyDecision) {
  if (decision.allowed) throw new Error("the pod was allowed");
  return decision.refusal;
}

function pod(
  namespace: string,
  annotations: Record<string, string> = {},
  spec: Partial<V1Pod["spec"]> = {},
): V1Pod {
  return {
    metadata: {
      name: "probe",
      namespace,
      annotations: { "iotedge.connector/target-condition": "tags.line = '1'", ...annotations },
    },
    spec: { containers: [{ name: "probe", image: "contoso.azurecr.io/probe:1" }], ...spec },
  };
}

const plant = parseNodePolicy(`
scope: "tags.site = 'plant-a'"
namespaces:
  line-1: { scope: "tags.line = '1'", priority: { min: 30, max: 40 } }
  plant-ops: { grants: [privileged, baseDeployment, runtimeSettings] }
`);

describe("the default policy", () => {
  const asksForPrivileges = [
    "daemonset.yaml",
    "host-namespaces.yaml",
    "multi-container.yaml",
    "security-privileged.yaml",
  ];

  it.each(samples.filter(({ file }) => !asksForPrivileges.includes(file)))(
    "deploys $file exactly as the translation does",
    ({ pod: sample, resolved }) => {
      const decision = decidePod({ pod: sample, resolved, node: "edge", policy: defaultNodePolicy });
      expect(decision.allowed ? decision.translation : refusalMessage(decision.refusal)).toEqual(
        podToDeployment(sample, resolved),
      );
    },
  );

  it.each(asksForPrivileges)(
    "refuses %s, which asks for privileges, host namespaces or the device's root",
    (file) => {
      const sample = samples.find((s) => s.file === file)!;
      expect(refusal(decidePod({ ...sample, node: "edge", policy: defaultNodePolicy })).reason).toBe(
        "PolicyViolation",
      );
    },
  );
});

describe("a written policy", () => {
  it("narrows the target condition, and the configuration id follows the condition", () => {
    const scoped = decidePod({
      pod: pod("line-1", { "iotedge.connector/priority": "35" }),
      node: "plant-a",
      policy: plant,
    });
    const unscoped = decidePod({
      pod: pod("line-1", { "iotedge.connector/priority": "35" }),
      node: "plant-a",
      policy: defaultNodePolicy,
    });
    if (!scoped.allowed || !unscoped.allowed) throw new Error("refused");
    expect(scoped.translation.configuration.targetCondition).toBe(
      "tags.site = 'plant-a' AND tags.line = '1' AND tags.line = '1'",
    );
    expect(unscoped.translation.configuration.targetCondition).toBe("tags.line = '1'");
    expect(scoped.translation.configuration.id).not.toBe(unscoped.translation.configuration.id);
  });

  it("says which priority is out of range, the default one included", () => {
    const found = refusal(decidePod({ pod: pod("line-1"), node: "plant-a", policy: plant }));
    expect(found).toEqual({
      reason: "PolicyViolation",
      node: "plant-a",
      problems: [
        {
          field: "metadata.annotations[iotedge.connector/priority]",
          reason:
            "the default priority 20 is outside the range the namespace may use, 30 to 40 (rule priority)",
        },
      ],
    });
    expect(refusalMessage(found)).toBe(
      "refused by the fleet policy of node plant-a: metadata.annotations[iotedge.connector/priority]: the default priority 20 is outside the range the namespace may use, 30 to 40 (rule priority)",
    );
  });

  it("lets a granted namespace run privileged, make a base deployment and bring its own edgeAgent", () => {
    const decision = decidePod({
      pod: pod(
        "plant-ops",
        {
          "iotedge.connector/deployment-kind": "base",
          "iotedge.connector/edge-agent-image": "contoso.azurecr.io/agent:1.5",
        },
        {
          containers: [
            { name: "probe", image: "contoso.azurecr.io/probe:1", securityContext: { privileged: true } },
          ],
        },
      ),
      node: "plant-a",
      policy: plant,
    });
    expect(decision.allowed).toBe(true);
  });

  it("names the original connector's annotation when its pod makes a base deployment without the grant", () => {
    const legacy = samples.find((s) => s.file === "legacy-original-sample.yaml")!;
    const policy = parseNodePolicy({ namespaces: { default: { priority: { min: 0, max: 100 } } } });
    const found = refusal(decidePod({ ...legacy, node: "edge", policy }));
    expect(found.problems).toEqual([
      {
        field: "metadata.annotations[isEdgeDeployment]",
        reason: expect.stringMatching(
          /makes a base deployment.*iotedge.connector\/deployment-kind: layered makes a layered one\) \(rule baseDeployment: namespace default is not granted baseDeployment\)$/,
        ),
      },
    ]);
  });

  it("lets routes among the pod's own modules and to $upstream through without anyRoutes", () => {
    const routes = JSON.stringify({
      up: "FROM /messages/modules/probe/outputs/* INTO $upstream",
      loop: 'FROM /messages/modules/probe/outputs/out WHERE $body.x > 1 INTO BrokeredEndpoint("/modules/probe/inputs/in")',
    });
    const policy = parseNodePolicy({ namespaces: { "line-1": {} } });
    expect(
      decidePod({ pod: pod("line-1", { "iotedge.connector/routes": routes }), node: "plant-a", policy })
        .allowed,
    ).toBe(true);
  });

  it("refuses every namespace on a node the written fleet policy does not list", () => {
    const fleet = parseFleetPolicy({ nodes: { "plant-a": { namespaces: { "*": {} } } } });
    const found = refusal(
      decidePod({ pod: pod("line-1"), node: "plant-b", policy: nodePolicyOf(fleet, "plant-b") }),
    );
    expect(found.reason).toBe("NamespaceNotAllowed");
    expect(refusalMessage(found)).toBe(
      "refused by the fleet policy of node plant-b: metadata.namespace: namespace line-1 may not use node plant-b (it serves no namespace)",
    );
  });

  it("gives the translation's reason and problems when the translation refuses", () => {
    const found = refusal(
      decidePod({
        pod: pod("plant-ops", {}, { initContainers: [{ name: "i", image: "x" }] }),
        node: "plant-a",
        policy: plant,
      }),
    );
    expect(found.reason).toBe("UnsupportedPod");
    expect(refusalMessage(found)).toMatch(/^refused: spec.initContainers: /);
  });
});
