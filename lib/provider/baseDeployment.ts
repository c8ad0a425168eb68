// The base deployment the app can own on a hub (`HUB_<NAME>_BASE_DEPLOYMENT=true`): edgeAgent and
// edgeHub, the runtime with the registry credentials of BASE_REGISTRY_CREDENTIALS, the default
// upstream route, no modules. Layered pods need a base deployment on their devices; with this, a
// fleet without one works. It goes through the hub's scheduler like any configuration, held by a
// pseudo pod key, and a new content (new images, credentials) replaces the old one.
import type { OrchestrationContext, OrchestrationHandler, Task } from "durable-functions";
import { configurationId } from "../translate/configurationId.js";
import { validateDeployment } from "../translate/deploymentSchemas.js";
import type { EdgeConfiguration } from "../translate/deploymentTypes.js";
import { connectorLabels, deploymentDefaults, managedByValue } from "../translate/podToDeployment.js";
import { formatProblem } from "../translate/podErrors.js";
import type { WantConfiguration } from "../scheduler/schedulerContract.js";
import { configurationsHeldBy } from "../scheduler/heldConfigurations.js";
import type { SchedulerCalls } from "./podOrchestration.js";
import { podEvents } from "./podOrchestration.js";

export const baseDeploymentOrchestrationName = "hubBaseDeployment";
const ownerNamespace = "iot-edge-connector";

export function baseDeploymentInstanceId(hub: string): string {
  return `base-deployment-${hub}`;
}

/** The pseudo pod that holds the base deployment at the scheduler. */
export function baseDeploymentPodKey(hub: string): string {
  return `${ownerNamespace}/base-deployment/${hub}`;
}

/** What the fleet's runtime is made of (app settings BASE_*). */
export interface BaseDeploymentSettings {
  targetCondition: string;
  edgeAgentImage: string;
  edgeHubImage: string;
  /** name → { address, username, password } */
  registryCredentials: Record<string, { address: string; username: string; password: string }>;
}

export function baseDeployment(base: BaseDeploymentSettings, hub: string): EdgeConfiguration {
  const runtimeSettings: Record<string, unknown> = { minDockerVersion: "v1.25" };
  if (Object.keys(base.registryCredentials).length > 0)
    runtimeSettings.registryCredentials = base.registryCredentials;
  const schemaVersion = deploymentDefaults.schemaVersion;
  const content = {
    modulesContent: {
      $edgeAgent: {
        "properties.desired": {
          schemaVersion,
          runtime: { type: "docker", settings: runtimeSettings },
          systemModules: {
            edgeAgent: { type: "docker", settings: { image: base.edgeAgentImage } },
            edgeHub: {
              type: "docker",
              status: "running",
              restartPolicy: "always",
              settings: {
                image: base.edgeHubImage,
                createOptions: JSON.stringify(deploymentDefaults.edgeHubCreateOptions),
              },
            },
          },
          modules: {},
        },
      },
      $edgeHub: {
        "properties.desired": {
          schemaVersion,
          routes: deploymentDefaults.routes,
          storeAndForwardConfiguration: { timeToLiveSecs: deploymentDefaults.storeAndForwardTtl },
        },
      },
    },
  };
  const identity = {
    namespace: ownerNamespace,
    workload: "base",
    content,
    targetCondition: base.targetCondition,
    priority: deploymentDefaults.priority.base,
    kind: "base" as const,
    hubName: hub,
  };
  const configuration: EdgeConfiguration = {
    id: configurationId(identity),
    schemaVersion: "1.0",
    labels: {
      [connectorLabels.managedBy]: managedByValue,
      [connectorLabels.namespace]: ownerNamespace,
      [connectorLabels.workload]: "base",
    },
    content,
    targetCondition: base.targetCondition,
    priority: identity.priority,
    metrics: { queries: {} },
  };
  const problems = validateDeployment(configuration);
  if (problems.length > 0)
    throw new Error(`base deployment for hub ${hub} is invalid: ${problems.map(formatProblem).join("; ")}`);
  return configuration;
}

export interface BaseDeploymentInput {
  hub: string;
  configuration: EdgeConfiguration;
  /** earlier base deployments of this hub (other content), released once this one is on the hub */
  replaces: string[];
}

/** The base deployments the pseudo pod holds at the scheduler (from its entity state). */
export function heldBaseDeployments(schedulerState: unknown, hub: string): string[] {
  return configurationsHeldBy(schedulerState, baseDeploymentPodKey(hub));
}

/** Wants the base deployment, releases the ones it replaces once it is on the hub, and ends; the scheduler keeps it. */
export function createBaseDeploymentOrchestrator(scheduler: SchedulerCalls): OrchestrationHandler {
  return function* baseDeploymentOrchestrator(
    context: OrchestrationContext,
  ): Generator<Task, string, unknown> {
    const { hub, configuration, replaces } = context.df.getInput<BaseDeploymentInput>();
    const want: WantConfiguration = {
      pod: baseDeploymentPodKey(hub),
      // no virtual node holds it: the app does
      node: ownerNamespace,
      configuration,
      kind: "base",
      modules: {},
      notifyInstanceId: context.df.instanceId,
      // the app's own, from its settings: the scheduler keeps it to create it again if it vanishes
      retainContent: true,
    };
    const demand = yield* scheduler.want(context, hub, want);
    let phase = demand.state?.phase;
    if (phase !== "OnHub" && phase !== "Refused") {
      const ready = (yield context.df.waitForExternalEvent(podEvents.configurationReady)) as {
        state?: { phase: "OnHub" | "Refused" };
      };
      phase = ready.state?.phase ?? "OnHub";
    }
    if (phase === "OnHub")
      for (const old of replaces.filter((id) => id !== configuration.id))
        yield* scheduler.release(context, hub, { pod: want.pod, configurationId: old });
    return phase;
  };
}
