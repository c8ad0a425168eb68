// The one function that decides whether a pod may run under a node's fleet policy, and what it
// becomes if it may. Pure: the Functions app calls it before anything reaches the hub (it alone
// holds the hub's rights), the adapter calls it for fast feedback before it sends the pod (and the
// Secrets it refers to) anywhere, and `translate --policy` calls it so an admin can try a pod.
// Order: the namespace, then the translation (with the input limits, and the target condition
// narrowed to the scopes), then the rules on what the translation asks of the devices.
import type { V1Pod } from "@kubernetes/client-node";
import { PodTranslationError } from "../translate/podErrors.js";
import { podToDeployment, type Translation } from "../translate/podToDeployment.js";
import { noReferences, type ResolvedReferences } from "../translate/resolvedReferences.js";
import { deploymentParts } from "./deploymentParts.js";
import { deploymentProblems } from "./deploymentRules.js";
import { namespaceEntry, type NodePolicy } from "./fleetPolicy.js";
import { moduleProblems } from "./moduleRules.js";
import type { PodRefusal } from "./podRefusal.js";
import { policyScope, scopedTargetCondition } from "./targetScope.js";

export interface PodPolicyInput {
  pod: V1Pod;
  resolved?: ResolvedReferences;
  /** the virtual node the pod is bound to */
  node: string;
  /** that node's policy (nodePolicyOf) */
  policy: NodePolicy;
  /** the IoT Hub: part of the configuration id */
  hubName?: string;
  /** validate the deployment against the IoT Edge schemas (default true) */
  validate?: boolean;
}

export type PolicyDecision =
  { allowed: true; translation: Translation } | { allowed: false; refusal: PodRefusal };

function podNamespace(pod: V1Pod): string {
  const namespace: unknown = pod.metadata?.namespace;
  return typeof namespace === "string" && namespace !== "" ? namespace : "default";
}

/** Whether the pod may run on the node, and its deployment (target narrowed to the scopes) if so. */
export function decidePod(input: PodPolicyInput): PolicyDecision {
  const { pod, node, policy } = input;
  const resolved = input.resolved ?? noReferences;
  const namespace = podNamespace(pod);
  const refuse = (reason: PodRefusal["reason"], problems: PodRefusal["problems"]): PolicyDecision => ({
    allowed: false,
    refusal: { reason, problems, node },
  });

  const entry = namespaceEntry(policy, namespace);
  if (entry === undefined) {
    const served = Object.keys(policy.namespaces);
    return refuse("NamespaceNotAllowed", [
      {
        field: "metadata.namespace",
        reason: `namespace ${namespace} may not use node ${node} (${served.length > 0 ? `it serves ${served.join(", ")}` : "it serves no namespace"})`,
      },
    ]);
  }
  const { rule } = entry;
  const scope = policyScope(policy, rule);
  let translation: Translation;
  try {
    translation = podToDeployment(pod, resolved, {
      ...(input.hubName !== undefined && { hubName: input.hubName }),
      ...(input.validate !== undefined && { validate: input.validate }),
      scopeTargetCondition: (condition) => scopedTargetCondition(scope, condition),
    });
  } catch (error) {
    if (error instanceof PodTranslationError) return refuse(error.reason, [...error.problems]);
    throw error;
  }
  const parts = deploymentParts(translation.configuration);
  const problems = [
    ...deploymentProblems(pod, translation, parts, rule, namespace),
    ...moduleProblems(pod, resolved, parts, rule, namespace),
  ];
  return problems.length > 0 ? refuse("PolicyViolation", problems) : { allowed: true, translation };
}
