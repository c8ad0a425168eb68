// The connector's own pod annotations: what a pod cannot say in its spec (device target,
// priority, layered or base, routes, module twins, ...). All share one prefix; an unknown name
// under it is refused, so a typo never silently changes a deployment.
import type { DeploymentSettings, ModuleSettings, Sourced } from "./deploymentSettings.js";
import { emptySettings } from "./deploymentSettings.js";
import type { Findings } from "./podErrors.js";
import type { ResolvedReferences } from "./resolvedReferences.js";
import {
  imageSchema,
  labelsSchema,
  metricsSchema,
  moduleStatusSchema,
  parseSetting,
  readConfigMapJson,
  readJson,
  prioritySchema,
  routesSchema,
  schemaVersionSchema,
  startupOrderSchema,
  targetConditionSchema,
  timeToLiveSchema,
  twinSchema,
} from "./settingSchemas.js";
import { z } from "zod";

export const annotationPrefix = "iotedge.connector/";

/** The connector's annotation names. Names ending in "." take the container name after them. */
export const annotations = {
  targetCondition: `${annotationPrefix}target-condition`,
  priority: `${annotationPrefix}priority`,
  deploymentKind: `${annotationPrefix}deployment-kind`,
  labels: `${annotationPrefix}labels`,
  metrics: `${annotationPrefix}metrics`,
  routes: `${annotationPrefix}routes`,
  routesConfigMap: `${annotationPrefix}routes-configmap`,
  storeAndForwardTtl: `${annotationPrefix}store-and-forward-ttl`,
  schemaVersion: `${annotationPrefix}schema-version`,
  edgeAgentImage: `${annotationPrefix}edge-agent-image`,
  edgeHubImage: `${annotationPrefix}edge-hub-image`,
  loggingOptions: `${annotationPrefix}logging-options`,
  /** the device `kubectl logs` reads the pod's containers from when the request names none */
  logsDevice: `${annotationPrefix}logs-device`,
  /** `staged` (default) or `all-at-once`: how a Deployment's rolling update reaches the devices */
  rollout: `${annotationPrefix}rollout`,
  twin: `${annotationPrefix}twin.`,
  twinConfigMap: `${annotationPrefix}twin-configmap.`,
  status: `${annotationPrefix}status.`,
  startupOrder: `${annotationPrefix}startup-order.`,
} as const;

export const rolloutStrategies = ["staged", "all-at-once"] as const;

/**
 * Whether a rolling update of the pod's Deployment moves across its devices in stages: the default,
 * unless the pod template says `all-at-once` (docs/staged-rollouts.md). A value that is neither is
 * refused at translation, so it never reaches a device either way.
 */
export function stagedRolloutAllowed(podAnnotations: Readonly<Record<string, string>> | undefined): boolean {
  return podAnnotations?.[annotations.rollout] !== "all-at-once";
}

const knownNames = Object.values(annotations)
  .map((name) => (name.endsWith(".") ? `${name}<container>` : name).slice(annotationPrefix.length))
  .join(", ");

/** The ConfigMap key that holds module twin desired properties (the original connector's name). */
export const desiredPropertiesKey = "desiredProperties";

export const annotationField = (name: string): string => `metadata.annotations[${name}]`;

const sourced = <T>(value: T | undefined, field: string): Sourced<T> | undefined =>
  value === undefined ? undefined : { value, field };

function eachSourced<T>(values: Record<string, T> | undefined, field: string): Record<string, Sourced<T>> {
  const result: Record<string, Sourced<T>> = {};
  for (const [key, value] of Object.entries(values ?? {})) result[key] = { value, field };
  return result;
}

function readModuleAnnotation(
  name: string,
  text: string,
  containerNames: ReadonlySet<string>,
  modules: Record<string, ModuleSettings>,
  resolved: ResolvedReferences,
  findings: Findings,
): boolean {
  const field = annotationField(name);
  const perModule = [
    annotations.twin,
    annotations.twinConfigMap,
    annotations.status,
    annotations.startupOrder,
  ];
  const prefix = perModule.find((candidate) => name.startsWith(candidate));
  if (prefix === undefined) return false;
  const container = name.slice(prefix.length);
  if (!containerNames.has(container)) {
    findings.refuse(field, `names container "${container}", which the pod does not have`);
    return true;
  }
  const module = (modules[container] ??= {});
  if (prefix === annotations.twin) {
    module.twin = sourced(readJson(text, twinSchema, field, findings), field);
  } else if (prefix === annotations.twinConfigMap) {
    const twin = readConfigMapJson(resolved, text.trim(), desiredPropertiesKey, twinSchema, findings, field);
    module.twin = sourced(twin, field);
  } else if (prefix === annotations.status) {
    module.status = sourced(parseSetting(text.trim(), moduleStatusSchema, field, findings), field);
  } else {
    module.startupOrder = sourced(parseSetting(text.trim(), startupOrderSchema, field, findings), field);
  }
  return true;
}

/** Routes from a ConfigMap whose every key is a route name and every value a route. */
function routesFromConfigMap(
  resolved: ResolvedReferences,
  name: string,
  field: string,
  findings: Findings,
): DeploymentSettings["routes"] {
  const configMap = Object.hasOwn(resolved.configMaps, name) ? resolved.configMaps[name] : undefined;
  if (!configMap) {
    findings.refuse(field, `ConfigMap "${name}" was not found in the pod's namespace`);
    return {};
  }
  const routes = parseSetting(configMap.data ?? {}, routesSchema, `configmap/${name}.data`, findings);
  return eachSourced(routes, `configmap/${name}.data`);
}

/** Reads the connector's annotations of a pod. */
export function readConnectorAnnotations(
  podAnnotations: Readonly<Record<string, string>>,
  containerNames: ReadonlySet<string>,
  resolved: ResolvedReferences,
  findings: Findings,
): DeploymentSettings {
  const settings = emptySettings();
  for (const [name, text] of Object.entries(podAnnotations)) {
    if (!name.startsWith(annotationPrefix)) continue;
    const field = annotationField(name);
    const value = typeof text === "string" ? text : String(text);
    switch (name) {
      case annotations.targetCondition:
        settings.targetCondition = sourced(
          parseSetting(value, targetConditionSchema, field, findings),
          field,
        );
        break;
      case annotations.priority:
        settings.priority = sourced(parseSetting(value.trim(), prioritySchema, field, findings), field);
        break;
      case annotations.deploymentKind:
        settings.kind = sourced(
          parseSetting(value.trim(), z.enum(["layered", "base"]), field, findings),
          field,
        );
        break;
      case annotations.labels:
        settings.labels = eachSourced(readJson(value, labelsSchema, field, findings), field);
        break;
      case annotations.metrics:
        settings.metrics = eachSourced(readJson(value, metricsSchema, field, findings), field);
        break;
      case annotations.routes:
        settings.routes = {
          ...settings.routes,
          ...eachSourced(readJson(value, routesSchema, field, findings), field),
        };
        break;
      case annotations.routesConfigMap:
        settings.routes = {
          ...routesFromConfigMap(resolved, value.trim(), field, findings),
          ...settings.routes,
        };
        break;
      case annotations.storeAndForwardTtl:
        settings.storeAndForwardTtl = sourced(
          parseSetting(value.trim(), timeToLiveSchema, field, findings),
          field,
        );
        break;
      case annotations.schemaVersion:
        settings.schemaVersion = sourced(
          parseSetting(value.trim(), schemaVersionSchema, field, findings),
          field,
        );
        break;
      case annotations.edgeAgentImage:
        settings.edgeAgentImage = sourced(parseSetting(value.trim(), imageSchema, field, findings), field);
        break;
      case annotations.edgeHubImage:
        settings.edgeHubImage = sourced(parseSetting(value.trim(), imageSchema, field, findings), field);
        break;
      case annotations.loggingOptions:
        settings.loggingOptions = sourced(value, field);
        break;
      case annotations.logsDevice:
        break; // where `kubectl logs` reads from: the kubelet API's, not the deployment's
      case annotations.rollout:
        // how a rolling update reaches the devices (docs/staged-rollouts.md), not part of the deployment
        if (!(rolloutStrategies as readonly string[]).includes(value))
          findings.refuse(field, `must be ${rolloutStrategies.join(" or ")}`);
        break;

      default:
        if (!readModuleAnnotation(name, value, containerNames, settings.modules, resolved, findings)) {
          findings.refuse(field, `not an annotation of the connector; it knows ${knownNames}`);
        }
    }
  }
  return settings;
}
