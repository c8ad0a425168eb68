// The original connector's conventions (Azure/iot-edge-virtual-kubelet-provider), so that its
// users can move pods over unchanged:
// - annotations `isEdgeDeployment: "true"`, `targetCondition`, `priority`, `loggingOptions`;
// - a ConfigMap named after each container with keys `status`, `restartPolicy`, `version`,
//   `createOptions` and `desiredProperties` (the module twin);
// - a ConfigMap `edgehub` whose `desiredProperties` holds `routes` and
//   `storeAndForwardConfiguration`, and one `edgeagent` whose `desiredProperties` holds
//   `runtime.settings.registryCredentials` and `systemModules.edgeHub.env`;
// - the pod's labels become the deployment's labels, and the deployment is a base deployment
//   unless the connector's deployment-kind annotation says otherwise.
// The ConfigMaps are read only for pods that say `isEdgeDeployment: "true"`, as the original did.
import { z } from "zod";
import type { DeploymentSettings, ModuleSettings } from "./deploymentSettings.js";
import { emptySettings } from "./deploymentSettings.js";
import { annotationField, desiredPropertiesKey } from "./annotations.js";
import type { Findings } from "./podErrors.js";
import type { ResolvedReferences } from "./resolvedReferences.js";
import {
  labelNamePattern,
  moduleRestartPolicySchema,
  moduleStatusSchema,
  parseSetting,
  prioritySchema,
  readConfigMapJson,
  routesSchema,
  targetConditionSchema,
  twinSchema,
} from "./settingSchemas.js";

export const legacyAnnotations = {
  isEdgeDeployment: "isEdgeDeployment",
  targetCondition: "targetCondition",
  priority: "priority",
  loggingOptions: "loggingOptions",
} as const;

/** The ConfigMaps the original connector looked up by name. */
export const legacyConfigMaps = { edgeHub: "edgehub", edgeAgent: "edgeagent" } as const;

/** Labels Kubernetes sets per pod: copying them would give each replica different labels. */
const perPodLabels = new Set([
  "statefulset.kubernetes.io/pod-name",
  "apps.kubernetes.io/pod-index",
  "controller-revision-hash",
  "batch.kubernetes.io/job-completion-index",
]);

const edgeHubDesired = z.object({
  routes: routesSchema.optional(),
  storeAndForwardConfiguration: z.object({ timeToLiveSecs: z.number().int().min(0) }).optional(),
});

const edgeAgentDesired = z.object({
  runtime: z
    .object({
      settings: z
        .object({
          registryCredentials: z
            .record(
              z.string().regex(/^[^.$# ]+$/, "credential names must not contain '.', '$', '#' or spaces"),
              z.strictObject({
                username: z.string(),
                password: z.string(),
                address: z.string().regex(/^\S+$/),
              }),
            )
            .optional(),
        })
        .optional(),
    })
    .optional(),
  systemModules: z
    .object({
      edgeHub: z.object({ env: z.record(z.string(), z.object({ value: z.string() })).optional() }).optional(),
    })
    .optional(),
});

export function isLegacyPod(podAnnotations: Readonly<Record<string, string>>): boolean {
  return podAnnotations[legacyAnnotations.isEdgeDeployment] === "true";
}

function readModuleConfigMap(
  resolved: ResolvedReferences,
  container: string,
  findings: Findings,
): ModuleSettings {
  const data = Object.hasOwn(resolved.configMaps, container)
    ? resolved.configMaps[container]?.data
    : undefined;
  if (!data) return {};
  const field = (key: string) => `configmap/${container}.data.${key}`;
  const module: ModuleSettings = {};
  if (data.status !== undefined) {
    const status = parseSetting(data.status.trim(), moduleStatusSchema, field("status"), findings);
    if (status) module.status = { value: status, field: field("status") };
  }
  if (data.restartPolicy !== undefined) {
    const policy = parseSetting(
      data.restartPolicy.trim(),
      moduleRestartPolicySchema,
      field("restartPolicy"),
      findings,
    );
    if (policy) module.restartPolicy = { value: policy, field: field("restartPolicy") };
  }
  if (data.version !== undefined) module.version = { value: data.version.trim(), field: field("version") };
  const createOptions = readConfigMapJson(resolved, container, "createOptions", twinSchema, findings);
  if (createOptions) module.createOptions = { value: createOptions, field: field("createOptions") };
  const twin = readConfigMapJson(resolved, container, desiredPropertiesKey, twinSchema, findings);
  if (twin) module.twin = { value: twin, field: field(desiredPropertiesKey) };
  return module;
}

/** Reads the original connector's annotations, labels and ConfigMaps of a pod. */
export function readLegacyConventions(
  podAnnotations: Readonly<Record<string, string>>,
  podLabels: Readonly<Record<string, string>>,
  containerNames: readonly string[],
  resolved: ResolvedReferences,
  findings: Findings,
): DeploymentSettings {
  const settings = emptySettings();
  const field = annotationField;
  const isEdgeDeployment = podAnnotations[legacyAnnotations.isEdgeDeployment];
  if (isEdgeDeployment !== undefined && isEdgeDeployment !== "true") {
    findings.refuse(
      field(legacyAnnotations.isEdgeDeployment),
      'must be "true" (the connector deploys every pod scheduled on its node; remove the annotation or set it to "true")',
    );
  }
  const targetCondition = podAnnotations[legacyAnnotations.targetCondition];
  if (targetCondition !== undefined) {
    const f = field(legacyAnnotations.targetCondition);
    const value = parseSetting(targetCondition, targetConditionSchema, f, findings);
    if (value !== undefined) settings.targetCondition = { value, field: f };
  }
  const priority = podAnnotations[legacyAnnotations.priority];
  if (priority !== undefined) {
    const f = field(legacyAnnotations.priority);
    const value = parseSetting(priority.trim(), prioritySchema, f, findings);
    if (value !== undefined) settings.priority = { value, field: f };
  }
  const loggingOptions = podAnnotations[legacyAnnotations.loggingOptions];
  if (loggingOptions)
    settings.loggingOptions = { value: loggingOptions, field: field(legacyAnnotations.loggingOptions) };
  if (isEdgeDeployment !== "true") return settings;

  for (const [name, value] of Object.entries(podLabels)) {
    if (perPodLabels.has(name)) continue;
    if (labelNamePattern.test(name) && value.length <= 128) {
      settings.labels[name] = { value, field: "metadata.labels" };
    } else {
      // The original connector copied every label; one the hub may not take is left out, not fatal.
      findings.warn(
        `metadata.labels[${name}]`,
        "not copied to the deployment: IoT Hub label names are letters, digits, '_', '.', ':' or '-', values at most 128 characters",
      );
    }
  }

  const hub = readConfigMapJson(
    resolved,
    legacyConfigMaps.edgeHub,
    desiredPropertiesKey,
    edgeHubDesired,
    findings,
  );
  const hubField = `configmap/${legacyConfigMaps.edgeHub}.data.${desiredPropertiesKey}`;
  for (const [name, route] of Object.entries(hub?.routes ?? {}))
    settings.routes[name] = { value: route, field: hubField };
  const ttl = hub?.storeAndForwardConfiguration?.timeToLiveSecs;
  if (ttl !== undefined) settings.storeAndForwardTtl = { value: ttl, field: hubField };

  const agent = readConfigMapJson(
    resolved,
    legacyConfigMaps.edgeAgent,
    desiredPropertiesKey,
    edgeAgentDesired,
    findings,
  );
  const agentField = `configmap/${legacyConfigMaps.edgeAgent}.data.${desiredPropertiesKey}`;
  for (const [name, credential] of Object.entries(agent?.runtime?.settings?.registryCredentials ?? {})) {
    settings.registryCredentials[name] = { value: credential, field: agentField };
  }
  for (const [name, env] of Object.entries(agent?.systemModules?.edgeHub?.env ?? {})) {
    settings.edgeHubEnv[name] = { value: env.value, field: agentField };
  }

  for (const container of containerNames) {
    const module = readModuleConfigMap(resolved, container, findings);
    if (Object.keys(module).length > 0) settings.modules[container] = module;
  }
  return settings;
}
