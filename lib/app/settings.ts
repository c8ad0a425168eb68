// The Functions app's settings, read once from the environment (app settings in Azure,
// local.settings.json locally) and checked at start: a missing or malformed setting is named
// with the reason. Secrets stay in the returned object only; messages never include values.
import { z } from "zod";

import { hubSkus, type HubSku } from "../scheduler/hubBudget.js";
import type { BaseDeploymentSettings } from "../provider/baseDeployment.js";
import { parseFleetPolicy, PolicyError, type FleetPolicy } from "../policy/fleetPolicy.js";
import type { NodeRegistration } from "../provider/nodeCredentials.js";
import { checkHostName, checkIdentityProperties } from "./identityConnection.js";

/** Prefix of a hub's own settings: `HUB_` + the hub name upper-cased, other characters as `_`. */
export function hubSettingPrefix(hubName: string): string {
  return `HUB_${hubName.toUpperCase().replace(/[^A-Z0-9]/g, "_")}`;
}

/** Names of one hub's settings (the infra sets exactly these). */
export function hubSettingNames(hubName: string) {
  const prefix = hubSettingPrefix(hubName);
  return {
    /** IoT Hub service connection string (registry read/write, service connect) */
    connection: `${prefix}_CONNECTION`,
    /** IoT Hub host name, for a managed identity instead of a connection string */
    hostName: `${prefix}_HOSTNAME`,
    /** the eventHub trigger's `connection`: the built-in endpoint's connection string (or `__fullyQualifiedNamespace`) */
    eventsConnection: `${prefix}_EVENTS_CONNECTION`,
    /** the built-in endpoint's Event Hub-compatible name */
    eventsName: `${prefix}_EVENTS_NAME`,
    consumerGroup: `${prefix}_CONSUMER_GROUP`,
    sku: `${prefix}_SKU`,
    units: `${prefix}_UNITS`,
    /**
     * "true" (the default): the app owns a base deployment on this hub (system modules, runtime, default
     * routes), which layered pods need; "false" when the hub's owner runs their own. Terraform sets it
     * for every hub: true for a hub it creates, false for an existing one unless told.
     */
    baseDeployment: `${prefix}_BASE_DEPLOYMENT`,
  } as const;
}

/** Settings that are not per hub. */
export const appSettingNames = {
  /** a connection string, or the identity form `AzureWebJobsStorage__accountName` (storageSettings.ts) */
  storage: "AzureWebJobsStorage",
  hubs: "CONNECTOR_HUBS",
  /** JSON: the virtual nodes that may call the provider API, [{cluster, hub, node, keySha256}] */
  nodes: "CONNECTOR_NODES",
  /** NCRONTAB of the timer that purges the history of finished orchestrations */
  purgeSchedule: "PURGE_SCHEDULE",
  releaseGraceSeconds: "CONFIGURATION_RELEASE_GRACE_SECONDS",
  reconcileSchedule: "RECONCILE_SCHEDULE",
  /** visible messages waiting in the Durable task hub's queues above which a PUT is answered 503; 0: never */
  backlogLimit: "TASK_HUB_BACKLOG_LIMIT",
  baseTargetCondition: "BASE_DEPLOYMENT_TARGET_CONDITION",
  baseEdgeAgentImage: "BASE_EDGE_AGENT_IMAGE",
  baseEdgeHubImage: "BASE_EDGE_HUB_IMAGE",
  baseRegistryCredentials: "BASE_REGISTRY_CREDENTIALS",
  /** the fleet policy (YAML or JSON, docs/fleet-policy.md); empty: every node gets the default */
  fleetPolicy: "FLEET_POLICY",
  logLevel: "LOG_LEVEL",
} as const;

export interface HubSettings {
  name: string;
  /** exactly one of connectionString / hostName */
  connectionString?: string;
  hostName?: string;
  /** name of the setting the eventHub trigger reads its connection from */
  eventsConnectionSetting: string;
  eventsName: string;
  consumerGroup: string;
  sku: HubSku;
  units: number;
  baseDeployment: boolean;
}

export interface AppSettings {
  hubs: HubSettings[];
  /** the virtual nodes allowed to call the provider API, each bound to its hub and cluster */
  nodes: NodeRegistration[];
  releaseGraceSeconds: number;
  reconcileSchedule: string;
  /** the task hub's queued messages above which the provider takes no new work (0: no limit) */
  backlogLimit: number;
  purgeSchedule: string;
  base: BaseDeploymentSettings;
  /** undefined: no policy written, every node gets defaultNodePolicy */
  fleetPolicy?: FleetPolicy;
  logLevel: string;
}

export class SettingsError extends Error {
  constructor(readonly problems: { setting: string; reason: string }[]) {
    super(`invalid app settings: ${problems.map((p) => `${p.setting}: ${p.reason}`).join("; ")}`);
    this.name = "SettingsError";
  }
}

const hubNamePattern = /^[a-zA-Z0-9][a-zA-Z0-9-]{1,48}[a-zA-Z0-9]$/;
/** A cluster id as the chart and Terraform write it: a DNS label. */
export const clusterIdPattern = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;
const nodeNamePattern = /^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$/;
const nodesSchema = z.array(
  z.object({
    cluster: z.string().regex(clusterIdPattern, "must be a DNS label"),
    hub: z.string().min(1),
    node: z.string().regex(nodeNamePattern, "must be a DNS subdomain"),
    keySha256: z.string().regex(/^[0-9a-f]{64}$/, "must be the key's SHA-256 in lower-case hex"),
  }),
);

const registryCredentialsSchema = z.record(
  z.string(),
  z.object({ address: z.string().min(1), username: z.string().min(1), password: z.string().min(1) }),
);

type Environment = Readonly<Record<string, string | undefined>>;

/**
 * 20 paced 10 PUT workers (1,000 pods 153 s, 364 s without) and is seldom reached at the adapter's
 * 4; 50 did not pace them (a count sees 32 a queue). Every caller honours Retry-After: the adapter
 * and the tests' harness (docs/benchmarks.md).
 */
export const DEFAULT_BACKLOG_LIMIT = 20;

function positiveInteger(
  env: Environment,
  name: string,
  fallback: number,
  problems: SettingsError["problems"],
) {
  const raw = env[name];
  if (raw === undefined || raw === "") return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < 0)
    problems.push({ setting: name, reason: "must be a whole number ≥ 0" });
  return value;
}

/** Reads and checks every setting; throws a SettingsError listing all problems at once. */
export function readAppSettings(env: Environment = process.env): AppSettings {
  const problems: SettingsError["problems"] = [];
  const hubNames = (env[appSettingNames.hubs] ?? "")
    .split(",")
    .map((name) => name.trim())
    .filter((name) => name !== "");
  if (hubNames.length === 0) problems.push({ setting: appSettingNames.hubs, reason: "names no IoT Hub" });

  const hubs = hubNames.map((name): HubSettings => {
    const names = hubSettingNames(name);
    if (!hubNamePattern.test(name))
      problems.push({ setting: appSettingNames.hubs, reason: `"${name}" is not a valid IoT Hub name` });
    const connectionString = env[names.connection] || undefined;
    const hostName = env[names.hostName] || undefined;
    if ((connectionString === undefined) === (hostName === undefined))
      problems.push({
        setting: names.connection,
        reason: `set exactly one of ${names.connection} and ${names.hostName}`,
      });
    if (hostName !== undefined) checkHostName(hostName, names.hostName, problems);
    readEventsConnection(env, names.eventsConnection, problems);
    const eventsName = env[names.eventsName] ?? "";
    if (eventsName === "") problems.push({ setting: names.eventsName, reason: "is required" });
    const sku = (env[names.sku] || "S1") as HubSku;
    if (!hubSkus.includes(sku))
      problems.push({ setting: names.sku, reason: `must be one of ${hubSkus.join(", ")}` });
    const units = positiveInteger(env, names.units, 1, problems);
    const baseDeployment = (env[names.baseDeployment] || "true").toLowerCase();
    if (baseDeployment !== "true" && baseDeployment !== "false")
      problems.push({ setting: names.baseDeployment, reason: "must be true or false" });
    return {
      name,
      ...(connectionString !== undefined ? { connectionString } : {}),
      ...(hostName !== undefined ? { hostName } : {}),
      eventsConnectionSetting: names.eventsConnection,
      eventsName,
      consumerGroup: env[names.consumerGroup] || "$Default",
      sku,
      units: Math.max(units, 1),
      baseDeployment: baseDeployment === "true",
    };
  });

  let registryCredentials: BaseDeploymentSettings["registryCredentials"] = {};
  const rawCredentials = env[appSettingNames.baseRegistryCredentials];
  if (rawCredentials) {
    try {
      const parsed = registryCredentialsSchema.safeParse(JSON.parse(rawCredentials));
      if (parsed.success) registryCredentials = parsed.data;
      else
        problems.push({
          setting: appSettingNames.baseRegistryCredentials,
          reason: "must map names to {address, username, password}",
        });
    } catch {
      problems.push({ setting: appSettingNames.baseRegistryCredentials, reason: "is not valid JSON" });
    }
  }

  let fleetPolicy: FleetPolicy | undefined;
  const rawPolicy = env[appSettingNames.fleetPolicy];
  if (rawPolicy !== undefined && rawPolicy.trim() !== "") {
    try {
      fleetPolicy = parseFleetPolicy(rawPolicy);
    } catch (error) {
      if (!(error instanceof PolicyError)) throw error;
      for (const problem of error.problems)
        problems.push({
          setting: appSettingNames.fleetPolicy,
          reason: `${problem.field}: ${problem.reason}`,
        });
    }
  }
  const nodes = readNodes(env, hubNames, problems);

  const settings: AppSettings = {
    hubs,
    nodes,
    releaseGraceSeconds: positiveInteger(env, appSettingNames.releaseGraceSeconds, 60, problems),
    reconcileSchedule: env[appSettingNames.reconcileSchedule] || "0 */5 * * * *",
    backlogLimit: positiveInteger(env, appSettingNames.backlogLimit, DEFAULT_BACKLOG_LIMIT, problems),
    purgeSchedule: env[appSettingNames.purgeSchedule] || "0 * * * * *",
    base: {
      targetCondition: env[appSettingNames.baseTargetCondition] || "*",
      edgeAgentImage: env[appSettingNames.baseEdgeAgentImage] || "mcr.microsoft.com/azureiotedge-agent:1.5",
      edgeHubImage: env[appSettingNames.baseEdgeHubImage] || "mcr.microsoft.com/azureiotedge-hub:1.5",
      registryCredentials,
    },
    ...(fleetPolicy !== undefined && { fleetPolicy }),
    logLevel: env[appSettingNames.logLevel] || "info",
  };
  if (problems.length > 0) throw new SettingsError(problems);
  return settings;
}

/**
 * The eventHub trigger's connection, read by the host: a connection string, or the identity form
 * `<setting>__fullyQualifiedNamespace` (the app's managed identity), never both.
 */
function readEventsConnection(env: Environment, setting: string, problems: SettingsError["problems"]) {
  const namespaceSetting = `${setting}__fullyQualifiedNamespace`;
  const connectionString = env[setting];
  const namespace = env[namespaceSetting];
  if (!connectionString && !namespace) problems.push({ setting, reason: "is required" });
  else if (connectionString && namespace)
    problems.push({ setting, reason: `set either the connection string or ${namespaceSetting}` });
  else if (namespace) {
    checkHostName(namespace, namespaceSetting, problems);
    checkIdentityProperties(env, setting, problems);
  }
}

/** CONNECTOR_NODES: each node's hub must be served, and no key may open two nodes. */
function readNodes(
  env: Environment,
  hubNames: readonly string[],
  problems: SettingsError["problems"],
): NodeRegistration[] {
  const setting = appSettingNames.nodes;
  const raw = env[setting];
  if (!raw) return [];
  let json: unknown;
  try {
    json = JSON.parse(raw);
  } catch {
    problems.push({ setting, reason: "is not valid JSON" });
    return [];
  }
  const parsed = nodesSchema.safeParse(json);
  if (!parsed.success) {
    for (const issue of parsed.error.issues)
      problems.push({ setting: `${setting}[${issue.path.join(".")}]`, reason: issue.message });
    return [];
  }
  const seen = new Set<string>();
  parsed.data.forEach((registration, index) => {
    if (!hubNames.includes(registration.hub))
      problems.push({
        setting: `${setting}[${index}].hub`,
        reason: `"${registration.hub}" is not one of ${appSettingNames.hubs}`,
      });
    if (seen.has(registration.keySha256))
      problems.push({ setting: `${setting}[${index}].keySha256`, reason: "is registered twice" });
    seen.add(registration.keySha256);
  });
  return parsed.data;
}
