// IoT Edge deployments as a user or the connector writes them, for simulator tests.
import type { ConfigurationInput } from "./hubShapes.js";

export interface ModuleSpec {
  image: string;
  restartPolicy?: "always" | "on-failure" | "on-unhealthy" | "never";
  status?: "running" | "stopped";
}

function moduleEntry(spec: ModuleSpec) {
  return {
    version: "1.0",
    type: "docker",
    status: spec.status ?? "running",
    restartPolicy: spec.restartPolicy ?? "always",
    settings: { image: spec.image, createOptions: "{}" },
  };
}

/** A base deployment: full $edgeAgent and $edgeHub desired properties plus the given modules. */
export function baseDeployment(
  id: string,
  options: { priority?: number; targetCondition: string; modules: Record<string, ModuleSpec> },
): ConfigurationInput {
  const modules = Object.fromEntries(
    Object.entries(options.modules).map(([name, spec]) => [name, moduleEntry(spec)]),
  );
  return {
    id,
    schemaVersion: "1.0",
    priority: options.priority ?? 10,
    targetCondition: options.targetCondition,
    labels: { purpose: "test" },
    content: {
      modulesContent: {
        $edgeAgent: {
          "properties.desired": {
            schemaVersion: "1.1",
            runtime: { type: "docker", settings: { minDockerVersion: "v1.25" } },
            systemModules: {
              edgeAgent: { type: "docker", settings: { image: "mcr.microsoft.com/azureiotedge-agent:1.5" } },
              edgeHub: {
                type: "docker",
                status: "running",
                restartPolicy: "always",
                settings: { image: "mcr.microsoft.com/azureiotedge-hub:1.5" },
              },
            },
            modules,
          },
        },
        $edgeHub: {
          "properties.desired": {
            schemaVersion: "1.1",
            routes: { upstream: "FROM /messages/* INTO $upstream" },
            storeAndForwardConfiguration: { timeToLiveSecs: 7200 },
          },
        },
      },
    },
  };
}

/** A layered deployment: adds modules (and a module twin's desired properties) on top of a base. */
export function layeredDeployment(
  id: string,
  options: { priority?: number; targetCondition: string; modules: Record<string, ModuleSpec> },
): ConfigurationInput {
  const agent: Record<string, unknown> = {};
  for (const [name, spec] of Object.entries(options.modules))
    agent[`properties.desired.modules.${name}`] = moduleEntry(spec);
  return {
    id,
    schemaVersion: "1.0",
    priority: options.priority ?? 10,
    targetCondition: options.targetCondition,
    content: { modulesContent: { $edgeAgent: agent } },
  };
}
