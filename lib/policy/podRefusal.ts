// A refused pod, as every part shows it: the pod's status reason and message (the app), the
// Kubernetes Event and status the adapter writes, and the CLI's output all come from here.
import { formatProblem, type PodProblem } from "../translate/podErrors.js";

export type RefusalReason =
  /** the translation: what the pod asks IoT Edge cannot do */
  | "UnsupportedPod"
  /** the translation: too large or too deeply nested to read */
  | "InputTooLarge"
  /** the fleet policy: the node does not serve the pod's namespace */
  | "NamespaceNotAllowed"
  /** the fleet policy: anything else it refuses */
  | "PolicyViolation"
  /** the hub's scheduler: another workload defines the module on devices both target */
  | "ModuleNameConflict"
  /** the hub's scheduler: another workload defines the route on devices both target */
  | "RouteNameConflict"
  /** the hub's scheduler: another workload defines the registry credential differently */
  | "RegistryCredentialConflict";

export interface PodRefusal {
  reason: RefusalReason;
  problems: PodProblem[];
  /** the virtual node whose fleet policy refused the pod */
  node?: string;
}

const byPolicy: ReadonlySet<RefusalReason> = new Set(["NamespaceNotAllowed", "PolicyViolation"]);

/** One line: `refused by the fleet policy of node plant-a: <field>: <reason>; ...`. */
export function refusalMessage(refusal: PodRefusal): string {
  const by =
    refusal.node !== undefined && byPolicy.has(refusal.reason)
      ? ` by the fleet policy of node ${refusal.node}`
      : "";
  return `refused${by}: ${refusal.problems.map(formatProblem).join("; ")}`;
}
