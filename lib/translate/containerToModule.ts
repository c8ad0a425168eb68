// One container → one IoT Edge module: image and createOptions in its settings, its environment,
// restart policy, desired status, image pull policy and startup order.
import type { V1Container, V1PodSecurityContext } from "@kubernetes/client-node";
import { splitCreateOptions } from "./createOptions.js";
import type { ModuleSettings } from "./deploymentSettings.js";
import type { EdgeModule, ModuleRestartPolicy } from "./deploymentTypes.js";
import type { CreateOptions, DeviceVolumes } from "./dockerCreateOptions.js";
import { containerCreateOptions } from "./dockerCreateOptions.js";
import { expandReferences, moduleEnvironment } from "./moduleEnv.js";
import { checkFields, containerFields } from "./podFields.js";
import type { Findings } from "./podErrors.js";
import type { ResolvedReferences } from "./resolvedReferences.js";

/** IoT Edge module names: letters, digits, '_' and '-' (the edgeAgent schema's pattern). */
const moduleNamePattern = /^[a-zA-Z0-9_-]+$/;
/** The runtime's own modules; Docker container names on a device are not case-sensitive. */
const reservedModuleNames = new Set(["edgeagent", "edgehub"]);
/** Names edgeAgent's schema accepts in a module's env; others go to the Docker Env list. */
const twinEnvNamePattern = /^[^+#$\s.]+$/;

export interface PodContext {
  readonly namespace: string;
  readonly resolved: ResolvedReferences;
  readonly restartPolicy: ModuleRestartPolicy;
  readonly schemaVersion: "1.0" | "1.1";
  readonly options: CreateOptions;
  readonly volumes: DeviceVolumes;
  readonly securityContext?: V1PodSecurityContext | undefined;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** Lays create options from the original connector's ConfigMap over the translated ones. */
export function overlay(
  base: Record<string, unknown>,
  top: Record<string, unknown>,
): Record<string, unknown> {
  const merged: Record<string, unknown> = { ...base };
  for (const [key, value] of Object.entries(top)) {
    const below = merged[key];
    merged[key] = isPlainObject(below) && isPlainObject(value) ? overlay(below, value) : value;
  }
  return merged;
}

export function moduleNameProblem(name: string): string | undefined {
  if (!moduleNamePattern.test(name)) return "IoT Edge module names are letters, digits, '_' and '-'";
  if (reservedModuleNames.has(name.toLowerCase()))
    return `"${name}" is reserved for the IoT Edge runtime's own module`;
  return undefined;
}

export function containerToModule(
  container: V1Container,
  index: number,
  pod: PodContext,
  settings: ModuleSettings,
  findings: Findings,
): EdgeModule {
  const path = `spec.containers[${index}]`;
  checkFields(container, containerFields, path, findings);
  const nameProblem = moduleNameProblem(container.name);
  if (nameProblem) findings.refuse(`${path}.name`, nameProblem);
  if (typeof container.image !== "string" || !/^\S+$/.test(container.image)) {
    findings.refuse(`${path}.image`, "is required: a container image reference without spaces");
  }

  const variables = moduleEnvironment(container, path, pod.namespace, pod.resolved, findings);
  const env: Record<string, { value: string }> = {};
  const dockerEnv: string[] = [];
  for (const [name, value] of variables) {
    if (twinEnvNamePattern.test(name)) env[name] = { value };
    else dockerEnv.push(`${name}=${value}`);
  }
  const expand = (text: string) => expandReferences(text, variables);
  let createOptions: Record<string, unknown> = containerCreateOptions(
    container,
    path,
    pod,
    dockerEnv,
    expand,
    findings,
  );
  if (settings.createOptions) createOptions = overlay(createOptions, settings.createOptions.value);

  const module: EdgeModule = {
    type: "docker",
    status: settings.status?.value ?? "running",
    restartPolicy: settings.restartPolicy?.value ?? pod.restartPolicy,
    settings: {
      image: container.image ?? "",
      ...(Object.keys(createOptions).length > 0 ? splitCreateOptions(JSON.stringify(createOptions)) : {}),
    },
  };
  if (settings.version) module.version = settings.version.value;
  if (Object.keys(env).length > 0) module.env = env;
  if (container.imagePullPolicy) {
    if (pod.schemaVersion === "1.0") {
      findings.warn(`${path}.imagePullPolicy`, "ignored: schema version 1.0 has no image pull policy");
    } else {
      module.imagePullPolicy = container.imagePullPolicy === "Never" ? "never" : "on-create";
    }
  }
  if (settings.startupOrder) {
    if (pod.schemaVersion === "1.0")
      findings.refuse(settings.startupOrder.field, "schema version 1.0 has no startup order");
    else module.startupOrder = settings.startupOrder.value;
  }
  return module;
}
