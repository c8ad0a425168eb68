// A Kubernetes pod (plus the ConfigMaps and Secrets it refers to) → the IoT Hub configuration of
// an IoT Edge deployment. Pure: no I/O, same input, same output. Everything IoT Edge cannot
// honour is refused, all problems at once, in a PodTranslationError; what is harmlessly
// ignored comes back as warnings.
import type { V1Container, V1Pod } from "@kubernetes/client-node";
import { annotations, readConnectorAnnotations } from "./annotations.js";
import { configurationId } from "./configurationId.js";
import { containerToModule, type PodContext } from "./containerToModule.js";
import { mergeSettings, type DeploymentSettings } from "./deploymentSettings.js";
import { validateDeployment } from "./deploymentSchemas.js";
import type {
  DeploymentKind,
  EdgeConfiguration,
  EdgeModule,
  EdgeRoute,
  ModuleRestartPolicy,
  RegistryCredential,
} from "./deploymentTypes.js";
import { deviceVolumes, podCreateOptions } from "./dockerCreateOptions.js";
import { isLegacyPod, readLegacyConventions } from "./legacyAnnotations.js";
import { checkFields, podSpecFields } from "./podFields.js";
import { Findings, PodTranslationError, type PodProblem } from "./podErrors.js";
import { registryCredentialsFromPullSecrets } from "./registryCredentials.js";
import { noReferences, type ResolvedReferences } from "./resolvedReferences.js";
import { checkPodShape } from "./podShape.js";
import { checkInputLimits } from "./inputLimits.js";

/** The target condition to deploy for the pod's own, or why the pod's cannot be used. */
export type ScopedTargetCondition = { condition: string } | { problem: string };

export interface TranslateOptions {
  /** the IoT Hub the deployment is for: part of the configuration id when given */
  readonly hubName?: string;
  /** validate the result against the IoT Edge deployment schemas (default true) */
  readonly validate?: boolean;
  /** narrows the pod's target condition to the devices it may reach (the fleet policy's scope) */
  readonly scopeTargetCondition?: (podCondition: string) => ScopedTargetCondition;
}

export interface Translation {
  readonly configuration: EdgeConfiguration;
  readonly kind: DeploymentKind;
  readonly namespace: string;
  readonly workload: string;
  /** fields ignored or worth knowing about; the pod is deployed regardless */
  readonly warnings: readonly PodProblem[];
}

export const deploymentDefaults = {
  edgeAgentImage: "mcr.microsoft.com/azureiotedge-agent:1.5",
  edgeHubImage: "mcr.microsoft.com/azureiotedge-hub:1.5",
  schemaVersion: "1.1",
  /** a layered deployment must outrank the base deployment of the devices it targets */
  priority: { base: 10, layered: 20 },
  storeAndForwardTtl: 7200,
  routes: { upstream: "FROM /messages/* INTO $upstream" } as Record<string, EdgeRoute>,
  edgeHubCreateOptions: {
    HostConfig: {
      PortBindings: {
        "443/tcp": [{ HostPort: "443" }],
        "5671/tcp": [{ HostPort: "5671" }],
        "8883/tcp": [{ HostPort: "8883" }],
      },
    },
  },
} as const;

/** IoT Edge's limits that a single pod can exceed. */
export const edgeLimits = { modulesPerDeployment: 20, twinDesiredBytes: 32 * 1024 } as const;

/** Labels the connector puts on every configuration it makes; a pod may not set them. */
export const connectorLabels = {
  managedBy: "managed-by",
  namespace: "k8s-namespace",
  workload: "k8s-workload",
} as const;
export const managedByValue = "iot-edge-connector";

const restartPolicies: Readonly<Record<string, ModuleRestartPolicy>> = {
  Always: "always",
  OnFailure: "on-failure",
  Never: "never",
};

const baseOnlySettings = ["edgeAgentImage", "edgeHubImage", "loggingOptions"] as const;

/** The pod's owning workload: its controller (a ReplicaSet, StatefulSet, ...), else the pod. */
export function podWorkload(pod: V1Pod): string {
  const controller = pod.metadata?.ownerReferences?.find((owner) => owner.controller === true);
  return controller?.name ?? pod.metadata?.name ?? "";
}

const bytes = (value: unknown) => Buffer.byteLength(JSON.stringify(value), "utf8");

function withTimeToLive(routes: Record<string, EdgeRoute>, ttl: number): Record<string, EdgeRoute> {
  return Object.fromEntries(
    Object.entries(routes).map(([name, route]) => [
      name,
      typeof route === "string" ? { route, timeToLiveSecs: ttl } : { timeToLiveSecs: ttl, ...route },
    ]),
  );
}

const values = <T>(sourced: Record<string, { value: T }>): Record<string, T> =>
  Object.fromEntries(Object.entries(sourced).map(([key, entry]) => [key, entry.value]));

function baseContent(
  settings: DeploymentSettings,
  schemaVersion: string,
  modules: Record<string, EdgeModule>,
  credentials: Record<string, RegistryCredential>,
  routes: Record<string, EdgeRoute>,
): Record<string, Record<string, unknown>> {
  const runtimeSettings: Record<string, unknown> = { minDockerVersion: "v1.25" };
  if (settings.loggingOptions) runtimeSettings.loggingOptions = settings.loggingOptions.value;
  if (Object.keys(credentials).length > 0) runtimeSettings.registryCredentials = credentials;
  const edgeHubEnv = Object.fromEntries(
    Object.entries(settings.edgeHubEnv).map(([name, e]) => [name, { value: e.value }]),
  );
  return {
    $edgeAgent: {
      "properties.desired": {
        schemaVersion,
        runtime: { type: "docker", settings: runtimeSettings },
        systemModules: {
          edgeAgent: {
            type: "docker",
            settings: { image: settings.edgeAgentImage?.value ?? deploymentDefaults.edgeAgentImage },
          },
          edgeHub: {
            type: "docker",
            status: "running",
            restartPolicy: "always",
            settings: {
              image: settings.edgeHubImage?.value ?? deploymentDefaults.edgeHubImage,
              createOptions: JSON.stringify(deploymentDefaults.edgeHubCreateOptions),
            },
            ...(Object.keys(edgeHubEnv).length > 0 ? { env: edgeHubEnv } : {}),
          },
        },
        modules,
      },
    },
    $edgeHub: {
      "properties.desired": {
        schemaVersion,
        routes: Object.keys(routes).length > 0 ? routes : deploymentDefaults.routes,
        storeAndForwardConfiguration: {
          timeToLiveSecs: settings.storeAndForwardTtl?.value ?? deploymentDefaults.storeAndForwardTtl,
        },
      },
    },
  };
}

function layeredContent(
  modules: Record<string, EdgeModule>,
  credentials: Record<string, RegistryCredential>,
  routes: Record<string, EdgeRoute>,
): Record<string, Record<string, unknown>> {
  const agent: Record<string, unknown> = {};
  for (const [name, module] of Object.entries(modules)) agent[`properties.desired.modules.${name}`] = module;
  for (const [name, credential] of Object.entries(credentials)) {
    agent[`properties.desired.runtime.settings.registryCredentials.${name}`] = credential;
  }
  const content: Record<string, Record<string, unknown>> = { $edgeAgent: agent };
  if (Object.keys(routes).length > 0) {
    content.$edgeHub = Object.fromEntries(
      Object.entries(routes).map(([name, r]) => [`properties.desired.routes.${name}`, r]),
    );
  }
  return content;
}

/** "pod plant-1/tempsensor-6d8f7c9b5-x2k4q", read defensively: the pod may be malformed. */
function describePod(input: unknown): string {
  const metadata = (input as { metadata?: { name?: unknown; namespace?: unknown } } | undefined)?.metadata;
  const namespace = typeof metadata?.namespace === "string" ? metadata.namespace : "default";
  const name = typeof metadata?.name === "string" ? metadata.name : "(unnamed)";
  return `pod ${namespace}/${name}`;
}

/** The container names, refusing an empty pod, more modules than a deployment holds, and duplicates. */
function containerNames(containers: readonly V1Container[], findings: Findings): Set<string> {
  if (containers.length === 0) findings.refuse("spec.containers", "must list at least one container");
  if (containers.length > edgeLimits.modulesPerDeployment) {
    findings.refuse(
      "spec.containers",
      `has ${containers.length} containers; an IoT Edge deployment holds at most ${edgeLimits.modulesPerDeployment} modules`,
    );
  }
  const names = new Set<string>();
  containers.forEach((container, index) => {
    if (names.has(container.name)) {
      findings.refuse(`spec.containers[${index}].name`, `duplicates container "${container.name}"`);
    }
    names.add(container.name);
  });
  return names;
}

/** Refuses what the deployment kind cannot carry, and a pod without a target condition. */
function checkSettingsForKind(settings: DeploymentSettings, kind: DeploymentKind, findings: Findings): void {
  if (!settings.targetCondition) {
    findings.refuse(
      `metadata.annotations[${annotations.targetCondition}]`,
      "is required: the IoT Hub device query that selects the devices (for example tags.site='plant-1')",
    );
  }
  if (kind === "base") return;
  for (const key of baseOnlySettings) {
    const setting = settings[key];
    if (setting) findings.refuse(setting.field, "applies only to base deployments (deployment-kind: base)");
  }
  for (const env of Object.values(settings.edgeHubEnv)) {
    findings.refuse(
      env.field,
      "edgeHub's environment applies only to base deployments (deployment-kind: base)",
    );
  }
}

/** The pod's routes; in a layered deployment the store-and-forward time to live goes onto each. */
function podRoutes(
  settings: DeploymentSettings,
  kind: DeploymentKind,
  schemaVersion: string,
  findings: Findings,
): Record<string, EdgeRoute> {
  if (schemaVersion === "1.0") {
    for (const [name, route] of Object.entries(settings.routes)) {
      if (typeof route.value !== "string") {
        findings.refuse(route.field, `route "${name}": schema version 1.0 takes route text only`);
      }
    }
  }
  const routes = values(settings.routes);
  const ttl = settings.storeAndForwardTtl;
  if (kind === "base" || !ttl) return routes;
  if (Object.keys(routes).length === 0) {
    findings.refuse(
      ttl.field,
      "a layered deployment sets the time to live on its own routes, and this pod has none (or use deployment-kind: base)",
    );
  }
  return withTimeToLive(routes, ttl.value);
}

/** Adds each module's twin and refuses any twin over IoT Edge's 32 KB of desired properties. */
function addTwinsWithinLimits(
  modulesContent: Record<string, Record<string, unknown>>,
  settings: DeploymentSettings,
  names: ReadonlySet<string>,
  findings: Findings,
): void {
  for (const [name, module] of Object.entries(settings.modules)) {
    if (!module.twin || !names.has(name)) continue;
    const size = bytes(module.twin.value);
    if (size > edgeLimits.twinDesiredBytes) {
      findings.refuse(
        module.twin.field,
        `module twin desired properties are ${size} bytes; IoT Edge allows 32 KB per twin`,
      );
    }
    modulesContent[name] = { "properties.desired": module.twin.value };
  }
  for (const system of ["$edgeAgent", "$edgeHub"] as const) {
    const size = modulesContent[system] ? bytes(modulesContent[system]) : 0;
    if (size > edgeLimits.twinDesiredBytes) {
      findings.refuse(
        system === "$edgeAgent" ? "spec.containers" : `metadata.annotations[${annotations.routes}]`,
        `come to ${size} bytes of ${system} desired properties; IoT Edge allows 32 KB per twin`,
      );
    }
  }
}

/** The pod's deployment labels plus the connector's own, which a pod may not set. */
function configurationLabels(
  settings: DeploymentSettings,
  namespace: string,
  workload: string,
  findings: Findings,
): Record<string, string> {
  const reserved: readonly string[] = Object.values(connectorLabels);
  const labels: Record<string, string> = {};
  for (const [name, label] of Object.entries(settings.labels)) {
    if (reserved.includes(name)) findings.refuse(label.field, `label "${name}" is set by the connector`);
    labels[name] = label.value;
  }
  labels[connectorLabels.managedBy] = managedByValue;
  labels[connectorLabels.namespace] = namespace;
  labels[connectorLabels.workload] = workload.slice(0, 128);
  return labels;
}

/** The pod's target condition, narrowed by the caller's scope when it gives one. */
function scopedTarget(settings: DeploymentSettings, options: TranslateOptions, findings: Findings): string {
  const target = settings.targetCondition;
  if (!target || !options.scopeTargetCondition) return target?.value ?? "";
  const scoped = options.scopeTargetCondition(target.value);
  if ("problem" in scoped) findings.refuse(target.field, scoped.problem);
  return "condition" in scoped ? scoped.condition : "";
}

/** Translates a pod into the IoT Hub configuration of its IoT Edge deployment. */
export function podToDeployment(
  input: V1Pod,
  resolved: ResolvedReferences = noReferences,
  options: TranslateOptions = {},
): Translation {
  const tooLarge = checkInputLimits(input, resolved);
  if (tooLarge.length > 0) throw new PodTranslationError(tooLarge, describePod(input), "InputTooLarge");
  const checked = checkPodShape(input);
  if ("problems" in checked) throw new PodTranslationError(checked.problems, describePod(input));
  const { metadata = {}, spec } = checked.pod;
  const findings = new Findings();
  const namespace = metadata.namespace ?? "default";
  const workload = podWorkload(checked.pod);
  if (!workload) findings.refuse("metadata.name", "is required");
  checkFields(spec, podSpecFields, "spec", findings);
  const names = containerNames(spec.containers, findings);

  const podAnnotations = metadata.annotations ?? {};
  const settings = mergeSettings(
    readConnectorAnnotations(podAnnotations, names, resolved, findings),
    readLegacyConventions(podAnnotations, metadata.labels ?? {}, [...names], resolved, findings),
    findings,
  );
  // The original connector made base deployments; its pods keep that unless they ask otherwise.
  const kind: DeploymentKind = settings.kind?.value ?? (isLegacyPod(podAnnotations) ? "base" : "layered");
  const schemaVersion = settings.schemaVersion?.value ?? deploymentDefaults.schemaVersion;
  checkSettingsForKind(settings, kind, findings);

  const restartPolicy = restartPolicies[spec.restartPolicy ?? "Always"];
  if (!restartPolicy) findings.refuse("spec.restartPolicy", "must be Always, OnFailure or Never");
  const context: PodContext = {
    namespace,
    resolved,
    restartPolicy: restartPolicy ?? "always",
    schemaVersion,
    options: podCreateOptions(spec, findings),
    volumes: deviceVolumes(spec.volumes ?? [], findings),
    securityContext: spec.securityContext,
  };
  const modules: Record<string, EdgeModule> = {};
  spec.containers.forEach((container, index) => {
    const moduleSettings = settings.modules[container.name] ?? {};
    modules[container.name] = containerToModule(container, index, context, moduleSettings, findings);
  });
  const credentials = {
    ...values(settings.registryCredentials),
    ...registryCredentialsFromPullSecrets(spec.imagePullSecrets ?? [], resolved, findings),
  };
  const routes = podRoutes(settings, kind, schemaVersion, findings);
  const modulesContent =
    kind === "base"
      ? baseContent(settings, schemaVersion, modules, credentials, routes)
      : layeredContent(modules, credentials, routes);
  addTwinsWithinLimits(modulesContent, settings, names, findings);
  const labels = configurationLabels(settings, namespace, workload, findings);
  const targetCondition = scopedTarget(settings, options, findings);
  if (findings.problems.length > 0)
    throw new PodTranslationError(findings.problems, describePod(checked.pod));

  const priority = settings.priority?.value ?? deploymentDefaults.priority[kind];
  const content = { modulesContent };
  const configuration: EdgeConfiguration = {
    id: configurationId({
      namespace,
      workload,
      content,
      targetCondition,
      priority,
      kind,
      hubName: options.hubName,
    }),
    schemaVersion: "1.0",
    labels,
    content,
    targetCondition,
    priority,
    metrics: { queries: values(settings.metrics) },
  };
  if (options.validate !== false) {
    const invalid = validateDeployment(configuration);
    if (invalid.length > 0) throw new PodTranslationError(invalid, describePod(checked.pod));
  }
  return { configuration, kind, namespace, workload, warnings: findings.warnings };
}
