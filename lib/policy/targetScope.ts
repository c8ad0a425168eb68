// The devices a pod may reach: the node's scope AND the namespace's scope AND the pod's own target
// condition, built as a parsed expression and printed, never pasted together as text. The printer
// parenthesises every part, so nothing a pod writes (`*`, `true`, `OR 1=1`, quotes) can reach
// past the scopes; text the parser cannot read is refused.
import {
  formatTwinCondition,
  parseTargetCondition,
  TwinQueryError,
  type Condition,
} from "../hub/twinQuery.js";
import type { ScopedTargetCondition } from "../translate/podToDeployment.js";
import type { NamespacePolicy, NodePolicy } from "./fleetPolicy.js";

/** IoT Hub's limit on a configuration's target condition, in characters. */
export const maxTargetConditionLength = 4096;

const isEveryDevice = (condition: Condition) => condition.kind === "constant" && condition.value;

/** `left AND right`, where an every-device side (`*`, `true`) adds nothing. */
function and(left: Condition | undefined, right: Condition): Condition {
  if (left === undefined || isEveryDevice(right)) return left ?? right;
  if (isEveryDevice(left)) return right;
  return { kind: "and", left, right };
}

/** The node's scope AND the namespace's, or undefined when both reach every device. */
export function policyScope(node: NodePolicy, namespace: NamespacePolicy): Condition | undefined {
  let scope: Condition | undefined;
  for (const text of [node.scope, namespace.scope]) {
    if (text !== undefined) scope = and(scope, parseTargetCondition(text));
  }
  return scope === undefined || isEveryDevice(scope) ? undefined : scope;
}

/** The pod's target condition narrowed to the scope, as the text the hub is given. */
export function scopedTargetCondition(
  scope: Condition | undefined,
  podCondition: string,
): ScopedTargetCondition {
  let own: Condition;
  try {
    own = parseTargetCondition(podCondition);
  } catch (error) {
    if (!(error instanceof TwinQueryError)) throw error;
    return { problem: `is not a device condition the connector can read: ${error.message}` };
  }
  // Without a scope the pod's own text is kept as written (and its configuration id with it).
  if (scope === undefined) return { condition: podCondition.trim() };
  let text: string;
  try {
    const combined = and(scope, own);
    text = isEveryDevice(combined) ? "*" : formatTwinCondition(combined);
  } catch (error) {
    if (!(error instanceof TwinQueryError)) throw error;
    return { problem: `cannot be combined with the fleet policy's scope: ${error.message}` };
  }
  if (text.length > maxTargetConditionLength) {
    return {
      problem: `with the fleet policy's scope the condition has ${text.length} characters; IoT Hub takes ${maxTargetConditionLength}`,
    };
  }
  return { condition: text };
}
