// The hub's automatic device configurations, as far as IoT Edge deployments use them: create with an
// id that follows the hub's rules, read and list with metrics, update only labels / targetCondition /
// priority / metrics under If-Match (content is immutable), delete; the per-SKU count limit and the
// 20-modules-per-deployment limit. Target conditions and metric queries are parsed once here.
import { isDeepStrictEqual } from "node:util";
import {
  parseTwinCondition,
  parseTwinQuery,
  TwinQueryError,
  type Condition,
  type TwinObject,
  type TwinQuery,
} from "../../lib/hub/twinQuery.js";
import { HubRestError, badRequest, configurationNotFound, preconditionFailed } from "./restErrors.js";
import { ifMatchSatisfied, isWildcardIfMatch } from "./etags.js";
import { isJsonObject } from "./jsonMergePatch.js";

export interface StoredConfiguration {
  id: string;
  schemaVersion: string;
  labels: Record<string, string>;
  modulesContent: TwinObject;
  targetCondition: string;
  /** undefined: targets nothing (empty condition). */
  condition: Condition | undefined;
  priority: number;
  /** A layered deployment adds to a base one: its $edgeAgent content has `properties.desired.*` paths. */
  layered: boolean;
  metricQueries: Record<string, string>;
  parsedMetrics: Record<string, TwinQuery>;
  createdTimeUtc: string;
  lastUpdatedTimeUtc: string;
  /** Creation order; among equal priorities the most recently created base deployment wins. */
  creationSequence: number;
  etagCounter: number;
}

export interface ConfigurationLimits {
  maxConfigurations: number;
  maxModulesPerDeployment: number;
}

// Lower case letters, digits and - : + % _ # * ? ! ( ) , = @ ; $ ' ; at most 128 (the hub's documented rule).
const CONFIGURATION_ID = /^[a-z0-9\-:+%_#*?!(),=@;$']{1,128}$/;

export function configurationEtag(counter: number): string {
  return Buffer.from(String(counter)).toString("base64");
}

function parseCondition(targetCondition: string): Condition | undefined {
  const trimmed = targetCondition.trim();
  if (trimmed === "") return undefined;
  if (trimmed === "*") return { kind: "constant", value: true };
  try {
    return parseTwinCondition(trimmed);
  } catch (error) {
    if (error instanceof TwinQueryError) throw badRequest(`targetCondition is invalid: ${error.message}`);
    throw error;
  }
}

function parseMetrics(metrics: unknown): {
  queries: Record<string, string>;
  parsed: Record<string, TwinQuery>;
} {
  const queries: Record<string, string> = {};
  const parsed: Record<string, TwinQuery> = {};
  if (metrics === undefined || metrics === null) return { queries, parsed };
  if (!isJsonObject(metrics)) throw badRequest("metrics must be an object with a 'queries' map");
  const given = metrics["queries"] ?? {};
  if (!isJsonObject(given)) throw badRequest("metrics.queries must be an object of name -> query");
  for (const [name, query] of Object.entries(given)) {
    if (typeof query !== "string") throw badRequest(`metrics.queries.${name} must be a query string`);
    try {
      parsed[name] = parseTwinQuery(query);
    } catch (error) {
      if (error instanceof TwinQueryError)
        throw badRequest(`metrics.queries.${name} is invalid: ${error.message}`);
      throw error;
    }
    queries[name] = query;
  }
  return { queries, parsed };
}

function parseLabels(labels: unknown): Record<string, string> {
  if (labels === undefined || labels === null) return {};
  if (!isJsonObject(labels)) throw badRequest("labels must be an object of string values");
  const result: Record<string, string> = {};
  for (const [key, value] of Object.entries(labels)) {
    if (typeof value !== "string") throw badRequest(`labels.${key} must be a string`);
    result[key] = value;
  }
  return result;
}

function parsePriority(priority: unknown): number {
  if (priority === undefined || priority === null) return 0;
  if (typeof priority !== "number" || !Number.isInteger(priority) || priority < 0) {
    throw badRequest(`priority must be a non-negative integer, got ${JSON.stringify(priority)}`);
  }
  return priority;
}

/** Module names a deployment deploys (system modules excluded), for the per-deployment module limit. */
export function deployedModuleNames(modulesContent: TwinObject): string[] {
  const agent = modulesContent["$edgeAgent"];
  if (!isJsonObject(agent)) return [];
  const desired = agent["properties.desired"];
  if (isJsonObject(desired)) {
    const modules = desired["modules"];
    return isJsonObject(modules) ? Object.keys(modules) : [];
  }
  const prefix = "properties.desired.modules.";
  return Object.keys(agent)
    .filter((key) => key.startsWith(prefix))
    .map((key) => key.slice(prefix.length).split(".")[0] as string);
}

function parseContent(content: unknown): { modulesContent: TwinObject; layered: boolean } {
  if (!isJsonObject(content)) throw badRequest("content is required and must be an object");
  if (content["deviceContent"] !== undefined || content["moduleContent"] !== undefined) {
    throw badRequest(
      "content.deviceContent and content.moduleContent are not supported by this simulator: it serves IoT Edge deployments (content.modulesContent)",
    );
  }
  const modulesContent = content["modulesContent"];
  if (!isJsonObject(modulesContent))
    throw badRequest("content.modulesContent is required for an IoT Edge deployment");
  const agent = modulesContent["$edgeAgent"];
  if (!isJsonObject(agent)) throw badRequest("content.modulesContent.$edgeAgent is required");
  for (const [moduleId, moduleContent] of Object.entries(modulesContent)) {
    if (!isJsonObject(moduleContent))
      throw badRequest(`content.modulesContent.${moduleId} must be an object`);
    for (const key of Object.keys(moduleContent)) {
      if (key !== "properties.desired" && !key.startsWith("properties.desired.")) {
        throw badRequest(
          `content.modulesContent.${moduleId}: key '${key}' must be 'properties.desired' or start with 'properties.desired.'`,
        );
      }
    }
  }
  return { modulesContent, layered: !isJsonObject(agent["properties.desired"]) };
}

export class ConfigurationStore {
  private readonly configurations = new Map<string, StoredConfiguration>();
  private creationCounter = 0;
  /** Bumped on every change so cached evaluations know to start over. */
  revision = 0;

  constructor(
    private readonly limits: ConfigurationLimits,
    private readonly now: () => Date,
  ) {}

  all(): StoredConfiguration[] {
    return [...this.configurations.values()];
  }

  get(id: string): StoredConfiguration {
    const configuration = this.configurations.get(id);
    if (!configuration) throw configurationNotFound(id);
    return configuration;
  }

  /** PUT /configurations/{id}: create when If-Match is absent, update under If-Match otherwise. */
  put(
    id: string,
    body: unknown,
    ifMatch: string | undefined,
  ): { configuration: StoredConfiguration; created: boolean } {
    if (!isJsonObject(body)) throw badRequest("The configuration must be a JSON object");
    if (body["id"] !== undefined && body["id"] !== id) {
      throw badRequest(
        `The configuration id in the body (${JSON.stringify(body["id"])}) does not match the URL ('${id}')`,
      );
    }
    const existing = this.configurations.get(id);
    if (ifMatch === undefined || (isWildcardIfMatch(ifMatch) && !existing)) {
      if (existing) {
        throw new HubRestError(
          409,
          "ConfigurationAlreadyExists",
          `Configuration with id '${id}' already exists`,
        );
      }
      return { configuration: this.create(id, body), created: true };
    }
    if (!existing) throw configurationNotFound(id);
    return { configuration: this.update(existing, body, ifMatch), created: false };
  }

  private create(id: string, body: TwinObject): StoredConfiguration {
    if (!CONFIGURATION_ID.test(id)) {
      throw badRequest(
        `Configuration id '${id}' is invalid: use 1-128 lower case letters, digits or - : + % _ # * ? ! ( ) , = @ $ ' and semicolon`,
      );
    }
    if (this.configurations.size >= this.limits.maxConfigurations) {
      throw new HubRestError(
        413,
        "ConfigurationCountLimitExceeded",
        `Number of deployments exceed the maximum quota ${this.limits.maxConfigurations} for this IotHub.`,
      );
    }
    const { modulesContent, layered } = parseContent(body["content"]);
    const modules = deployedModuleNames(modulesContent);
    if (modules.length > this.limits.maxModulesPerDeployment) {
      throw badRequest(
        `content.modulesContent.$edgeAgent deploys ${modules.length} modules, a deployment may hold at most ${this.limits.maxModulesPerDeployment}`,
      );
    }
    const targetCondition = typeof body["targetCondition"] === "string" ? body["targetCondition"] : "";
    const metrics = parseMetrics(body["metrics"]);
    const now = this.now().toISOString();
    const configuration: StoredConfiguration = {
      id,
      schemaVersion: typeof body["schemaVersion"] === "string" ? body["schemaVersion"] : "1.0",
      labels: parseLabels(body["labels"]),
      modulesContent: structuredClone(modulesContent),
      targetCondition,
      condition: parseCondition(targetCondition),
      priority: parsePriority(body["priority"]),
      layered,
      metricQueries: metrics.queries,
      parsedMetrics: metrics.parsed,
      createdTimeUtc: now,
      lastUpdatedTimeUtc: now,
      creationSequence: ++this.creationCounter,
      etagCounter: 1,
    };
    this.configurations.set(id, configuration);
    this.revision += 1;
    return configuration;
  }

  private update(existing: StoredConfiguration, body: TwinObject, ifMatch: string): StoredConfiguration {
    if (!ifMatchSatisfied(ifMatch, configurationEtag(existing.etagCounter))) {
      throw preconditionFailed(`configuration ${existing.id}`);
    }
    const content = body["content"];
    if (content !== undefined && !isDeepStrictEqual(content, { modulesContent: existing.modulesContent })) {
      const sameModules =
        isJsonObject(content) && isDeepStrictEqual(content["modulesContent"], existing.modulesContent);
      if (!sameModules) {
        throw badRequest(
          `Configuration ${existing.id}: content cannot be updated, only labels, targetCondition, priority and metrics can change`,
        );
      }
    }
    const targetCondition =
      typeof body["targetCondition"] === "string" ? body["targetCondition"] : existing.targetCondition;
    const condition = parseCondition(targetCondition);
    const metrics = body["metrics"] === undefined ? undefined : parseMetrics(body["metrics"]);
    existing.labels = body["labels"] === undefined ? existing.labels : parseLabels(body["labels"]);
    existing.priority = body["priority"] === undefined ? existing.priority : parsePriority(body["priority"]);
    existing.targetCondition = targetCondition;
    existing.condition = condition;
    if (metrics) {
      existing.metricQueries = metrics.queries;
      existing.parsedMetrics = metrics.parsed;
    }
    existing.lastUpdatedTimeUtc = this.now().toISOString();
    existing.etagCounter += 1;
    this.revision += 1;
    return existing;
  }

  delete(id: string, ifMatch: string | undefined): void {
    const existing = this.get(id);
    if (!ifMatchSatisfied(ifMatch, configurationEtag(existing.etagCounter))) {
      throw preconditionFailed(`configuration ${id}`);
    }
    this.configurations.delete(id);
    this.revision += 1;
  }
}
