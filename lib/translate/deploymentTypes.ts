// The shapes the translator produces: an IoT Hub configuration for an IoT Edge deployment,
// exactly as the hub's REST API takes it (PUT /configurations/{id}).

export type DeploymentKind = "layered" | "base";
export type ModuleStatus = "running" | "stopped";
export type ModuleRestartPolicy = "always" | "on-failure" | "on-unhealthy" | "never";
export type ModuleImagePullPolicy = "on-create" | "never";

/** A module as edgeAgent's desired properties describe it. */
export interface EdgeModule {
  version?: string;
  type: "docker";
  status: ModuleStatus;
  restartPolicy: ModuleRestartPolicy;
  /** `image` plus the createOptions parts (`createOptions`, `createOptions01`, ...) */
  settings: Record<string, string>;
  env?: Record<string, { value: string }>;
  imagePullPolicy?: ModuleImagePullPolicy;
  startupOrder?: number;
}

/** An edgeHub route: the route text, or the text with its priority and time to live. */
export type EdgeRoute = string | { route: string; priority?: number; timeToLiveSecs?: number };

export interface RegistryCredential {
  username: string;
  password: string;
  address: string;
}

export interface EdgeConfiguration {
  id: string;
  schemaVersion: "1.0";
  labels: Record<string, string>;
  content: { modulesContent: Record<string, Record<string, unknown>> };
  targetCondition: string;
  priority: number;
  metrics: { queries: Record<string, string> };
}
