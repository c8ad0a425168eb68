// Two workloads may not define the same module, route or (differently) registry credential on
// devices they both target: IoT Edge merges every layered deployment (and the base) of a device
// by name, so the higher priority would silently replace the other's module or route. Module and
// route names stay as the pod wrote them (routes and `kubectl logs` name modules); the later
// workload is refused instead, naming the earlier one. A workload is what lives across rollouts
// (the Deployment, not its ReplicaSet of the revision), so a rolling update never conflicts. The
// hub's scheduler checks this when a configuration is first wanted, as it alone sees every
// configuration of the hub, one at a time. It keeps only each configuration's names
// (ConfigurationNames): the content may hold a pod's Secret values and is dropped once on the hub.
// Devices are "both targeted" unless the conditions provably exclude each other: one requires a
// property to equal a value the other's excludes (tags.owner = 'a' against tags.owner = 'b').
import { createHash } from "node:crypto";
import { parseTargetCondition, type Condition, type Literal } from "../hub/twinQuery.js";
import type { DeploymentKind, EdgeConfiguration } from "../translate/deploymentTypes.js";
import type { V1Pod } from "@kubernetes/client-node";
import { connectorLabels, podWorkload } from "../translate/podToDeployment.js";
import { deploymentParts } from "./deploymentParts.js";

/** What name conflicts need of a configuration, without any value that could be a secret. */
export interface ConfigurationNames {
  id: string;
  targetCondition: string;
  /** `namespace/workload` from the configuration's labels: the pod's controller, e.g. the ReplicaSet */
  labelledOwner: string;
  modules: string[];
  routes: string[];
  /** registry credential name → SHA-256 of the credential: equal credentials compare equal */
  credentials: Record<string, string>;
}

export function configurationNames(configuration: EdgeConfiguration): ConfigurationNames {
  const parts = deploymentParts(configuration);
  const { labels } = configuration;
  return {
    id: configuration.id,
    targetCondition: configuration.targetCondition,
    labelledOwner: `${labels[connectorLabels.namespace] ?? "?"}/${labels[connectorLabels.workload] ?? "?"}`,
    modules: Object.keys(parts.modules),
    routes: Object.keys(parts.routes),
    credentials: Object.fromEntries(
      Object.entries(parts.registryCredentials).map(([name, value]) => [
        name,
        createHash("sha256").update(JSON.stringify(value)).digest("hex"),
      ]),
    ),
  };
}

export interface PlacedConfiguration {
  names: ConfigurationNames;
  kind: DeploymentKind;
  /** `namespace/name` of the workload across its rollouts (workloadOf); else the labels say */
  workload?: string;
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

type Pin = { path: string; values: Literal[] };

/** The properties a target condition pins to values (none when it cannot be parsed). */
function pinsOf(targetCondition: string): Pin[] {
  try {
    return conjuncts(parseTargetCondition(targetCondition)).flatMap((c) => pinned(c) ?? []);
  } catch {
    return [];
  }
}

function disjointPins(a: readonly Pin[], b: readonly Pin[]): boolean {
  return a.some((pin) =>
    b.some(
      (other) => other.path === pin.path && !pin.values.some((v) => other.values.some((w) => mayEqual(v, w))),
    ),
  );
}

/** True only when no device twin can satisfy both target conditions. */
export function provablyDisjoint(first: string, second: string): boolean {
  return disjointPins(pinsOf(first), pinsOf(second));
}

/** What a configuration pins and names, kept per id: ids are content-addressed, so never stale. */
interface NameSummary {
  pins: Pin[];
  /** lower-cased module name → the module's name (device container names ignore case) */
  modules: Map<string, string>;
  routes: Set<string>;
  /** credential name → the credential's hash */
  credentials: Map<string, string>;
}

const summaries = new Map<string, NameSummary>();
const maxSummaries = 2000;

function summaryOf(names: ConfigurationNames): NameSummary {
  const known = summaries.get(names.id);
  if (known !== undefined) return known;
  const summary: NameSummary = {
    pins: pinsOf(names.targetCondition),
    modules: new Map(names.modules.map((name) => [name.toLowerCase(), name])),
    routes: new Set(names.routes),
    credentials: new Map(Object.entries(names.credentials)),
  };
  if (summaries.size >= maxSummaries) summaries.delete(summaries.keys().next().value!);
  summaries.set(names.id, summary);
  return summary;
}

/**
 * `namespace/name` of the pod's workload as it lives across rollouts: a Deployment's pods belong to
 * one ReplicaSet per revision (`<deployment>-<pod-template-hash>`), and the old and the new one run
 * side by side during a rollout; both are the Deployment's.
 */
export function workloadOf(pod: V1Pod): string {
  const { namespace = "default", labels = {} } = pod.metadata ?? {};
  const controller = pod.metadata?.ownerReferences?.find((owner) => owner.controller === true);
  const hash = labels["pod-template-hash"];
  let name = podWorkload(pod);
  if (controller?.kind === "ReplicaSet" && hash !== undefined && name.endsWith(`-${hash}`))
    name = name.slice(0, -hash.length - 1);
  return `${namespace}/${name}`;
}

const labelledOwner = (placed: PlacedConfiguration): string => placed.names.labelledOwner;

const owner = (placed: PlacedConfiguration): string => placed.workload ?? labelledOwner(placed);

/** One workload? A configuration wanted before workloads were recorded is known by its ReplicaSet. */
function sameWorkload(a: PlacedConfiguration, b: PlacedConfiguration): boolean {
  if (a.workload !== undefined && b.workload !== undefined) return a.workload === b.workload;
  if (labelledOwner(a) === labelledOwner(b)) return true;
  const known = a.workload ?? b.workload;
  const unknown = a.workload === undefined ? a : b;
  return known !== undefined && labelledOwner(unknown).startsWith(`${known}-`);
}

/** The first name the candidate shares with a configuration of another workload on common devices. */
export function nameConflict(
  candidate: PlacedConfiguration,
  others: Iterable<PlacedConfiguration>,
): NameConflict | undefined {
  const mine = summaryOf(candidate.names);
  for (const other of others) {
    // Base deployments do not merge: a device applies one of them, whole.
    if (sameWorkload(other, candidate) || (candidate.kind === "base" && other.kind === "base")) continue;
    const theirs = summaryOf(other.names);
    if (disjointPins(mine.pins, theirs.pins)) continue;
    const where = `workload ${owner(other)} (deployment ${other.names.id}) already defines`;
    const devices = "on devices this pod's target condition may also select";
    const module = [...theirs.modules.keys()].find((name) => mine.modules.has(name));
    if (module !== undefined)
      return {
        reason: "ModuleNameConflict",
        message: `spec.containers[name=${mine.modules.get(module)}]: ${where} module "${theirs.modules.get(module)}" ${devices}; rename the container or narrow the target condition`,
      };
    const route = [...theirs.routes].find((name) => mine.routes.has(name));
    if (route !== undefined)
      return {
        reason: "RouteNameConflict",
        message: `routes: ${where} route "${route}" ${devices}; rename the route or narrow the target condition`,
      };
    const credential = [...theirs.credentials].find(
      ([name, value]) => mine.credentials.has(name) && mine.credentials.get(name) !== value,
    )?.[0];
    if (credential !== undefined)
      return {
        reason: "RegistryCredentialConflict",
        message: `imagePullSecrets: ${where} registry credential "${credential}" differently ${devices}; use the same credential or another registry name`,
      };
  }
  return undefined;
}
