// The fleet policy's rules for a translated deployment as a whole: base deployments and runtime
// settings only with their grants, the priority range, the registries of the runtime's images,
// and routes that stay among the pod's own modules unless the namespace may route anything.
import type { V1Pod } from "@kubernetes/client-node";
import { annotationField, annotations } from "../translate/annotations.js";
import { legacyAnnotations, legacyConfigMaps } from "../translate/legacyAnnotations.js";
import type { PodProblem } from "../translate/podErrors.js";
import { deploymentDefaults, type Translation } from "../translate/podToDeployment.js";
import { routeText, type DeploymentParts } from "./deploymentParts.js";
import { defaultPriorityRange, type Grant, type NamespacePolicy } from "./fleetPolicy.js";
import { fromAllowedRegistry, imageRepository } from "./imageRegistries.js";

const edgeAgentField = `configmap/${legacyConfigMaps.edgeAgent}.data.desiredProperties`;
const edgeHubField = `configmap/${legacyConfigMaps.edgeHub}.data.desiredProperties`;

class RuleCheck {
  readonly problems: PodProblem[] = [];
  constructor(
    private readonly rule: NamespacePolicy,
    private readonly namespace: string,
  ) {}

  granted(grant: Grant): boolean {
    return this.rule.grants.includes(grant);
  }

  needs(grant: Grant, field: string, what: string): void {
    if (!this.granted(grant))
      this.problems.push({
        field,
        reason: `${what} (rule ${grant}: namespace ${this.namespace} is not granted ${grant})`,
      });
  }

  refuse(field: string, reason: string): void {
    this.problems.push({ field, reason });
  }
}

/** The annotation that set a setting, in the connector's spelling or the original's. */
function annotationOf(pod: V1Pod, ...names: string[]): string | undefined {
  const present = pod.metadata?.annotations ?? {};
  const name = names.find((candidate) => present[candidate] !== undefined);
  return name === undefined ? undefined : annotationField(name);
}

function checkKind(pod: V1Pod, translation: Translation, check: RuleCheck): void {
  if (translation.kind !== "base") return;
  const field =
    annotationOf(pod, annotations.deploymentKind) ?? annotationField(legacyAnnotations.isEdgeDeployment);
  check.needs(
    "baseDeployment",
    field,
    "makes a base deployment, which replaces the runtime and routes of every device it targets" +
      (field.includes(legacyAnnotations.isEdgeDeployment)
        ? " (the original connector's pods do; iotedge.connector/deployment-kind: layered makes a layered one)"
        : ""),
  );
}

function checkRuntime(pod: V1Pod, parts: DeploymentParts, check: RuleCheck): void {
  const runtime = parts.runtime;
  if (runtime === undefined) return;
  const { edgeAgent, edgeHub } = runtime.systemModules;
  const images: [string | undefined, string, string][] = [
    [edgeAgent?.settings.image, deploymentDefaults.edgeAgentImage, annotations.edgeAgentImage],
    [edgeHub?.settings.image, deploymentDefaults.edgeHubImage, annotations.edgeHubImage],
  ];
  for (const [image, standard, annotation] of images) {
    if (image !== undefined && image !== standard)
      check.needs(
        "runtimeSettings",
        annotationField(annotation),
        `replaces the runtime's image with ${image}`,
      );
  }
  if (runtime.settings.loggingOptions !== undefined) {
    const field =
      annotationOf(pod, annotations.loggingOptions, legacyAnnotations.loggingOptions) ??
      annotationField(annotations.loggingOptions);
    check.needs("runtimeSettings", field, "sets the runtime's logging options");
  }
  if (edgeHub?.env !== undefined)
    check.needs("runtimeSettings", edgeAgentField, "sets edgeHub's environment");
}

function checkPriority(pod: V1Pod, translation: Translation, rule: NamespacePolicy, check: RuleCheck): void {
  const { min, max } = rule.priority ?? defaultPriorityRange;
  const priority = translation.configuration.priority;
  if (priority >= min && priority <= max) return;
  const field = annotationOf(pod, annotations.priority, legacyAnnotations.priority);
  check.refuse(
    field ?? annotationField(annotations.priority),
    `${field === undefined ? `the default priority ${priority}` : `priority ${priority}`} is outside the range the namespace may use, ${min} to ${max} (rule priority)`,
  );
}

function checkRuntimeRegistries(parts: DeploymentParts, rule: NamespacePolicy, check: RuleCheck): void {
  const allowed = rule.registries;
  if (allowed === undefined || parts.runtime === undefined) return;
  const fields: Record<string, string> = {
    edgeAgent: annotationField(annotations.edgeAgentImage),
    edgeHub: annotationField(annotations.edgeHubImage),
  };
  for (const [name, module] of Object.entries(parts.runtime.systemModules)) {
    const image = module.settings.image ?? "";
    if (!fromAllowedRegistry(image, allowed))
      check.refuse(
        fields[name] ?? "spec",
        `${name} comes from ${imageRepository(image)}, outside the registries the namespace may use (rule registries)`,
      );
  }
}

const routePattern = /^\s*FROM\s+(\S+)(?:\s+WHERE\s+.*?)?\s+INTO\s+(.+?)\s*$/is;
const ownSource = /^\/messages\/modules\/([^/*]+)(\/.*)?$/;
const ownSink = /^BrokeredEndpoint\(\s*"\/modules\/([^/"]+)\/inputs\/[^"]+"\s*\)$/i;

/** Why a route reaches beyond the pod's own modules, or undefined when it does not. */
function foreignRoute(text: string, modules: ReadonlySet<string>): string | undefined {
  if ((text.match(/\bINTO\b/gi) ?? []).length !== 1) return "names INTO more than once";
  const match = routePattern.exec(text);
  if (!match) return "is not FROM <source> [WHERE <condition>] INTO <sink>";
  const [, source = "", sink = ""] = match;
  const from = ownSource.exec(source)?.[1];
  if (from === undefined || !modules.has(from)) return `reads ${source}, not only the pod's own modules`;
  const to = ownSink.exec(sink)?.[1];
  if (sink !== "$upstream" && (to === undefined || !modules.has(to)))
    return `delivers to ${sink}, neither $upstream nor the pod's own modules`;
  return undefined;
}

/** The annotation or ConfigMap that set a route (the translation read it, so it is valid JSON). */
function routeField(pod: V1Pod, name: string): string {
  const present = pod.metadata?.annotations ?? {};
  const inline = present[annotations.routes];
  if (inline !== undefined && Object.hasOwn(JSON.parse(inline) as object, name))
    return annotationField(annotations.routes);
  const configMap = present[annotations.routesConfigMap];
  return configMap !== undefined ? `configmap/${configMap.trim()}.data.${name}` : edgeHubField;
}

function checkRoutes(pod: V1Pod, translation: Translation, parts: DeploymentParts, check: RuleCheck): void {
  // A base deployment owns its devices' routes, and needs its own grant for that.
  if (check.granted("anyRoutes") || translation.kind === "base") return;
  const modules = new Set(Object.keys(parts.modules));
  for (const [name, route] of Object.entries(parts.routes)) {
    const why = foreignRoute(routeText(route), modules);
    if (why !== undefined)
      check.needs(
        "anyRoutes",
        routeField(pod, name),
        `route "${name}" ${why}; another workload's messages may pass there`,
      );
  }
}

/** What the namespace may not do with this deployment as a whole. */
export function deploymentProblems(
  pod: V1Pod,
  translation: Translation,
  parts: DeploymentParts,
  rule: NamespacePolicy,
  namespace: string,
): PodProblem[] {
  const check = new RuleCheck(rule, namespace);
  checkKind(pod, translation, check);
  checkRuntime(pod, parts, check);
  checkPriority(pod, translation, rule, check);
  checkRuntimeRegistries(parts, rule, check);
  checkRoutes(pod, translation, parts, check);
  return check.problems;
}
