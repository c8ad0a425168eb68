// Two workloads may not define the same module, route or (differently) registry credential on
// devices they both target: IoT Edge merges every layered deployment (and the base) of a device
// by name, so the higher priority would silently replace the other's module or route. Module and
// route names stay as the pod wrote them (routes and `kubectl logs` name modules); the later
// workload is refused instead, naming the earlier one. The hub's scheduler checks this when a
// configuration is first wanted, as it alone sees every configuration of the hub, one at a time.
// Devices are "both targeted" unless the conditions provably exclude each other: one requires a
// property to equal a value the other's excludes (tags.owner = 'a' against tags.owner = 'b').
import { parseTargetCondition, type Condition, type Literal } from "../hub/twinQuery.js";
import type { DeploymentKind, EdgeConfiguration } from "../translate/deploymentTypes.js";
import { connectorLabels } from "../translate/podToDeployment.js";
import { deploymentParts } from "./deploymentParts.js";

export interface PlacedConfiguration {
  configuration: EdgeConfiguration;
  kind: DeploymentKind;
}

export interface NameConflict {
  reason: "ModuleNameConflict" | "RouteNameConflict" | "RegistryCredentialConflict";
  message: string;
}

/** The property a conjunct pins to a set of values (`p = v`, `p IN [...]`), if it does. */
function pinned(condition: Condition): { path: string; values: Literal[] } | undefined {
  if (condition.kind === "in" && !condition.negated && condition.operand.kind === "path")
    return { path: condition.operand.segments.join("\u0000"), values: condition.values };
  if (condition.kind !== "compare" || condition.operator !== "=") return undefined;
  const { left, right } = condition;
  if (left.kind === "path" && right.kind === "literal")
    return { path: left.segments.join("\u0000"), values: [right.value] };
  if (right.kind === "path" && left.kind === "literal")
    return { path: right.segments.join("\u0000"), values: [left.value] };
  return undefined;
}

function conjuncts(condition: Condition): Condition[] {
  return condition.kind === "and"
    ? [...conjuncts(condition.left), ...conjuncts(condition.right)]
    : [condition];
}

/** Could the two values be equal on the hub? Strings are compared without case, to be safe. */
function mayEqual(a: Literal, b: Literal): boolean {
  if (typeof a === "string" && typeof b === "string") return a.toLowerCase() === b.toLowerCase();
  return a === b;
}

/** True only when no device twin can satisfy both target conditions. */
export function provablyDisjoint(first: string, second: string): boolean {
  let a: Condition;
  let b: Condition;
  try {
    a = parseTargetCondition(first);
    b = parseTargetCondition(second);
  } catch {
    return false;
  }
  const pinsOfB = conjuncts(b).flatMap((c) => pinned(c) ?? []);
  return conjuncts(a).some((c) => {
    const pin = pinned(c);
    return (
      pin !== undefined &&
      pinsOfB.some(
        (other) =>
          other.path === pin.path && !pin.values.some((v) => other.values.some((w) => mayEqual(v, w))),
      )
    );
  });
}

function owner(configuration: EdgeConfiguration): string {
  const labels = configuration.labels;
  return `${labels[connectorLabels.namespace] ?? "?"}/${labels[connectorLabels.workload] ?? "?"}`;
}

/** The first name the candidate shares with a configuration of another workload on common devices. */
export function nameConflict(
  candidate: PlacedConfiguration,
  others: Iterable<PlacedConfiguration>,
): NameConflict | undefined {
  const mine = deploymentParts(candidate.configuration);
  const myModules = new Map(Object.keys(mine.modules).map((name) => [name.toLowerCase(), name]));
  for (const other of others) {
    const theirs = other.configuration;
    // Base deployments do not merge: a device applies one of them, whole.
    if (
      owner(theirs) === owner(candidate.configuration) ||
      (candidate.kind === "base" && other.kind === "base")
    )
      continue;
    if (provablyDisjoint(candidate.configuration.targetCondition, theirs.targetCondition)) continue;
    const parts = deploymentParts(theirs);
    const where = `workload ${owner(theirs)} (deployment ${theirs.id}) already defines`;
    const devices = "on devices this pod's target condition may also select";
    const module = Object.keys(parts.modules).find((name) => myModules.has(name.toLowerCase()));
    if (module !== undefined)
      return {
        reason: "ModuleNameConflict",
        message: `spec.containers[name=${myModules.get(module.toLowerCase())}]: ${where} module "${module}" ${devices}; rename the container or narrow the target condition`,
      };
    const route = Object.keys(parts.routes).find((name) => Object.hasOwn(mine.routes, name));
    if (route !== undefined)
      return {
        reason: "RouteNameConflict",
        message: `routes: ${where} route "${route}" ${devices}; rename the route or narrow the target condition`,
      };
    const credential = Object.keys(parts.registryCredentials).find(
      (name) =>
        Object.hasOwn(mine.registryCredentials, name) &&
        JSON.stringify(mine.registryCredentials[name]) !== JSON.stringify(parts.registryCredentials[name]),
    );
    if (credential !== undefined)
      return {
        reason: "RegistryCredentialConflict",
        message: `imagePullSecrets: ${where} registry credential "${credential}" differently ${devices}; use the same credential or another registry name`,
      };
  }
  return undefined;
}
