// The parts of a translated deployment the policy reads: its modules, routes, registry credentials
// and, for a base deployment, the runtime (system modules and runtime settings). A base
// deployment holds them whole under `properties.desired`; a layered one as dotted paths.
import type {
  EdgeConfiguration,
  EdgeModule,
  EdgeRoute,
  RegistryCredential,
} from "../translate/deploymentTypes.js";

export type SystemModule = EdgeModule & { env?: Record<string, { value: string }> };

export interface DeploymentParts {
  modules: Record<string, EdgeModule>;
  routes: Record<string, EdgeRoute>;
  registryCredentials: Record<string, RegistryCredential>;
  /** a base deployment's runtime: edgeAgent and edgeHub, and the runtime settings */
  runtime?: {
    systemModules: Record<string, SystemModule>;
    settings: Record<string, unknown>;
  };
}

type Desired = Record<string, unknown>;

const entriesUnder = (content: Desired, prefix: string): [string, unknown][] =>
  Object.entries(content)
    .filter(([path]) => path.startsWith(prefix) && !path.slice(prefix.length).includes("."))
    .map(([path, value]) => [path.slice(prefix.length), value]);

export function deploymentParts(configuration: Pick<EdgeConfiguration, "content">): DeploymentParts {
  const agent = (configuration.content.modulesContent.$edgeAgent ?? {}) as Desired;
  const hub = (configuration.content.modulesContent.$edgeHub ?? {}) as Desired;
  const baseAgent = agent["properties.desired"] as
    | {
        modules?: Record<string, EdgeModule>;
        systemModules?: Record<string, SystemModule>;
        runtime?: { settings?: Record<string, unknown> };
      }
    | undefined;
  if (baseAgent !== undefined) {
    const { registryCredentials, ...settings } = baseAgent.runtime?.settings ?? {};
    const baseHub = hub["properties.desired"] as { routes?: Record<string, EdgeRoute> } | undefined;
    return {
      modules: baseAgent.modules ?? {},
      routes: baseHub?.routes ?? {},
      registryCredentials: (registryCredentials ?? {}) as Record<string, RegistryCredential>,
      runtime: { systemModules: baseAgent.systemModules ?? {}, settings },
    };
  }
  return {
    modules: Object.fromEntries(entriesUnder(agent, "properties.desired.modules.")) as Record<
      string,
      EdgeModule
    >,
    routes: Object.fromEntries(entriesUnder(hub, "properties.desired.routes.")) as Record<string, EdgeRoute>,
    registryCredentials: Object.fromEntries(
      entriesUnder(agent, "properties.desired.runtime.settings.registryCredentials."),
    ) as Record<string, RegistryCredential>,
  };
}

/** The route text of a route (a route is its text, or an object with it). */
export const routeText = (route: EdgeRoute): string => (typeof route === "string" ? route : route.route);
