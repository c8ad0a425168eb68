// A container's environment (env and envFrom, ConfigMap and Secret references resolved) as the
// ordered list of variables the module gets, with Kubernetes' precedence: envFrom sources in
// order, then env entries, a later one replacing an earlier one of the same name.
import type { V1Container } from "@kubernetes/client-node";
import type { Findings } from "./podErrors.js";
import type { ResolvedReferences } from "./resolvedReferences.js";
import { allEntries, configMapKey, secretKey } from "./resolvedReferences.js";

/** The only downward-API field that has one value on every device a deployment reaches. */
const sharedFieldRefs: Readonly<Record<string, (namespace: string) => string>> = {
  "metadata.namespace": (namespace) => namespace,
};

/** Kubernetes' `$(NAME)` references in env values, command and args; `$$` escapes a `$`. */
export function expandReferences(text: string, variables: ReadonlyMap<string, string>): string {
  return text.replace(/\$\$|\$\(([A-Za-z_][A-Za-z0-9_.-]*)\)/g, (match, name: string | undefined) => {
    if (name === undefined) return "$";
    return variables.get(name) ?? match;
  });
}

export function moduleEnvironment(
  container: V1Container,
  path: string,
  namespace: string,
  resolved: ResolvedReferences,
  findings: Findings,
): Map<string, string> {
  const variables = new Map<string, string>();
  (container.envFrom ?? []).forEach((source, index) => {
    const field = `${path}.envFrom[${index}]`;
    const reference = source.configMapRef ?? source.secretRef;
    const kind = source.configMapRef ? "ConfigMap" : "Secret";
    if (!reference?.name) {
      findings.refuse(field, "needs a configMapRef or secretRef with a name");
      return;
    }
    const entries = allEntries(resolved, kind, reference.name);
    if (typeof entries === "string") {
      if (reference.optional !== true) findings.refuse(field, entries);
      return;
    }
    if (kind === "Secret") findings.warn(field, secretWarning);
    for (const [key, value] of entries) variables.set(`${source.prefix ?? ""}${key}`, value);
  });
  (container.env ?? []).forEach((variable, index) => {
    const field = `${path}.env[${index}]`;
    if (!variable.name) {
      findings.refuse(`${field}.name`, "is required");
      return;
    }
    if (!variable.valueFrom) {
      variables.set(variable.name, expandReferences(variable.value ?? "", variables));
      return;
    }
    const { configMapKeyRef, secretKeyRef, fieldRef, resourceFieldRef } = variable.valueFrom;
    if (configMapKeyRef || secretKeyRef) {
      const reference = (configMapKeyRef ?? secretKeyRef)!;
      const lookup = configMapKeyRef
        ? configMapKey(resolved, reference.name ?? "", reference.key)
        : secretKey(resolved, reference.name ?? "", reference.key);
      if (lookup.found) variables.set(variable.name, lookup.value);
      else if (reference.optional !== true) findings.refuse(`${field}.valueFrom`, lookup.reason);
      if (secretKeyRef) findings.warn(`${field}.valueFrom.secretKeyRef`, secretWarning);
    } else if (fieldRef) {
      const shared = sharedFieldRefs[fieldRef.fieldPath];
      if (shared) variables.set(variable.name, shared(namespace));
      else
        findings.refuse(
          `${field}.valueFrom.fieldRef`,
          `"${fieldRef.fieldPath}" has no single value across the devices of a deployment (only metadata.namespace has)`,
        );
    } else if (resourceFieldRef) {
      findings.refuse(
        `${field}.valueFrom.resourceFieldRef`,
        "IoT Edge cannot expose container resources as variables",
      );
    } else {
      findings.refuse(`${field}.valueFrom`, "needs configMapKeyRef, secretKeyRef or fieldRef");
    }
  });
  return variables;
}

const secretWarning =
  "the Secret's value is written into the module's desired properties on the hub, readable by anyone who can read the deployment";
