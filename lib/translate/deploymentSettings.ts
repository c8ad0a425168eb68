// What a pod says about its deployment beyond containers: target, priority, kind, routes, module
// twins and system module settings. Annotations (annotations.ts) and the original connector's
// conventions (legacyAnnotations.ts) each read into this shape; the two are merged, and a
// setting given in both spellings with different values is refused rather than guessed.
import type { Findings } from "./podErrors.js";
import type {
  DeploymentKind,
  EdgeRoute,
  ModuleRestartPolicy,
  ModuleStatus,
  RegistryCredential,
} from "./deploymentTypes.js";

/** A setting with the pod field it came from, so that a conflict or a refusal can name it. */
export interface Sourced<T> {
  readonly value: T;
  readonly field: string;
}

export interface ModuleSettings {
  status?: Sourced<ModuleStatus>;
  restartPolicy?: Sourced<ModuleRestartPolicy>;
  startupOrder?: Sourced<number>;
  version?: Sourced<string>;
  /** module twin desired properties */
  twin?: Sourced<Record<string, unknown>>;
  /** Docker create options laid over the ones translated from the container (original connector) */
  createOptions?: Sourced<Record<string, unknown>>;
}

export interface DeploymentSettings {
  kind?: Sourced<DeploymentKind>;
  targetCondition?: Sourced<string>;
  priority?: Sourced<number>;
  schemaVersion?: Sourced<"1.0" | "1.1">;
  edgeAgentImage?: Sourced<string>;
  edgeHubImage?: Sourced<string>;
  loggingOptions?: Sourced<string>;
  storeAndForwardTtl?: Sourced<number>;
  labels: Record<string, Sourced<string>>;
  metrics: Record<string, Sourced<string>>;
  routes: Record<string, Sourced<EdgeRoute>>;
  edgeHubEnv: Record<string, Sourced<string>>;
  registryCredentials: Record<string, Sourced<RegistryCredential>>;
  modules: Record<string, ModuleSettings>;
}

export function emptySettings(): DeploymentSettings {
  return {
    labels: {},
    metrics: {},
    routes: {},
    edgeHubEnv: {},
    registryCredentials: {},
    modules: {},
  };
}

function sameValue(a: unknown, b: unknown): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

function pick<T>(
  a: Sourced<T> | undefined,
  b: Sourced<T> | undefined,
  findings: Findings,
): Sourced<T> | undefined {
  if (a && b && !sameValue(a.value, b.value)) {
    findings.refuse(
      a.field,
      `conflicts with ${b.field}: give the setting once, or the same value in both spellings`,
    );
  }
  return a ?? b;
}

function pickEach<T>(
  a: Record<string, Sourced<T>>,
  b: Record<string, Sourced<T>>,
  findings: Findings,
): Record<string, Sourced<T>> {
  const merged = { ...b };
  for (const [key, value] of Object.entries(a)) merged[key] = pick(value, b[key], findings) ?? value;
  return merged;
}

function mergeModules(a: ModuleSettings, b: ModuleSettings, findings: Findings): ModuleSettings {
  const merged: ModuleSettings = {};
  const keys = ["status", "restartPolicy", "startupOrder", "version", "twin", "createOptions"] as const;
  for (const key of keys) {
    const value = pick<unknown>(a[key], b[key], findings);
    if (value) (merged as Record<string, unknown>)[key] = value;
  }
  return merged;
}

/** Merges the connector's settings (first) with the original connector's (second). */
export function mergeSettings(
  connector: DeploymentSettings,
  legacy: DeploymentSettings,
  findings: Findings,
): DeploymentSettings {
  const scalars = [
    "kind",
    "targetCondition",
    "priority",
    "schemaVersion",
    "edgeAgentImage",
    "edgeHubImage",
    "loggingOptions",
    "storeAndForwardTtl",
  ] as const;
  const merged = emptySettings();
  for (const key of scalars) {
    const value = pick<unknown>(connector[key], legacy[key], findings);
    if (value) (merged as unknown as Record<string, unknown>)[key] = value;
  }
  merged.labels = pickEach(connector.labels, legacy.labels, findings);
  merged.metrics = pickEach(connector.metrics, legacy.metrics, findings);
  merged.routes = pickEach(connector.routes, legacy.routes, findings);
  merged.edgeHubEnv = pickEach(connector.edgeHubEnv, legacy.edgeHubEnv, findings);
  merged.registryCredentials = pickEach(connector.registryCredentials, legacy.registryCredentials, findings);
  for (const name of new Set([...Object.keys(connector.modules), ...Object.keys(legacy.modules)])) {
    merged.modules[name] = mergeModules(connector.modules[name] ?? {}, legacy.modules[name] ?? {}, findings);
  }
  return merged;
}
