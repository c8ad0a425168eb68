// HubClient over azure-iothub 1.16: every operation is one SDK call wrapped in callHub (retries,
// typed redacted errors, counters). Results are returned as plain JSON documents, never SDK objects
// (a Twin carries the Registry, whose REST client holds the signing key).

import { isDeepStrictEqual } from "node:util";
import { emptyCounters, type HubAttemptEvent } from "./hubCallStats.js";
import type {
  ConfigurationContent,
  ConfigurationRequest,
  DirectMethodRequest,
  DirectMethodResult,
  HubClient,
  HubConfiguration,
  ReplaceConfigurationRequest,
  TwinDocument,
  TwinQueryOptions,
} from "./hubClient.js";
import { HubError } from "./hubErrors.js";
import {
  callHub,
  DEFAULT_RETRY_OPTIONS,
  REAL_ENVIRONMENT,
  type HubCall,
  type HubLogger,
  type RetryContext,
  type RetryEnvironment,
  type RetryOptions,
} from "./retry.js";
import { connectSdk, parseHubConnectionString, type HubIdentitySettings } from "./sdkConnection.js";

export interface HubClientOptions {
  /** Bounds of the retry of throttled and transient failures; defaults in DEFAULT_RETRY_OPTIONS. */
  retry?: Partial<RetryOptions>;
  /** Called after every attempt (the scheduler counts 429s here). */
  onAttempt?: (event: HubAttemptEvent) => void;
  /** Receives a warning per retry; messages are redacted. */
  logger?: HubLogger;
  /** A CA certificate (PEM) to trust besides Node's bundled roots, e.g. the simulator's. */
  trustedCa?: string;
  /** Clock, sleep and randomness; tests inject deterministic ones. */
  environment?: RetryEnvironment;
}

/** Extra time an attempt of a direct method may take beyond the hub's own timeouts. */
const METHOD_TIMEOUT_GRACE_MS = 5_000;

function checkRetryOptions(options: RetryOptions): RetryOptions {
  for (const [field, value] of Object.entries(options)) {
    if (typeof value !== "number" || Number.isNaN(value) || value < 0) {
      throw new TypeError(`hub client option retry.${field} must be a number >= 0, got ${String(value)}`);
    }
  }
  if (!Number.isInteger(options.maxAttempts) || options.maxAttempts < 1) {
    throw new TypeError(
      `hub client option retry.maxAttempts must be an integer >= 1, got ${options.maxAttempts}`,
    );
  }
  return options;
}

function requireName(value: string, field: string): string {
  if (typeof value !== "string" || value === "") throw new TypeError(`${field} must be a non-empty string`);
  return value;
}

/** Copies the SDK's Twin into a plain document, leaving its Registry reference behind. */
function plainTwin(twin: unknown): TwinDocument {
  const { _registry: _omitted, ...document } = twin as Record<string, unknown>;
  return document as TwinDocument;
}

function sameDeclaration(existing: HubConfiguration, wanted: ConfigurationRequest): boolean {
  return (
    isDeepStrictEqual(existing.content, wanted.content) &&
    existing.targetCondition === wanted.targetCondition &&
    (existing.priority ?? 0) === wanted.priority &&
    isDeepStrictEqual(existing.labels ?? {}, wanted.labels ?? {}) &&
    isDeepStrictEqual(existing.metrics?.queries ?? {}, wanted.metrics?.queries ?? {})
  );
}

/** True when the twin's tags show the patch applied (a null in the patch removes a tag). */
function hasTags(twin: TwinDocument, patch: Record<string, unknown>): boolean {
  return Object.entries(patch).every(([name, value]) =>
    value === null ? twin.tags?.[name] === undefined : isDeepStrictEqual(twin.tags?.[name], value),
  );
}

function configurationBody(request: ConfigurationRequest, etag?: string) {
  return {
    id: request.id,
    schemaVersion: "1.0",
    content: request.content,
    targetCondition: request.targetCondition,
    priority: request.priority,
    ...(request.labels !== undefined && { labels: request.labels }),
    ...(request.metrics !== undefined && { metrics: request.metrics }),
    ...(etag !== undefined && { etag }),
  };
}

/**
 * A hub by service connection string, or by host name and a TokenCredential (a managed identity;
 * HUB_<NAME>_HOSTNAME): the same client either way.
 */
export function createHubClient(
  connection: string | HubIdentitySettings,
  options: HubClientOptions = {},
): HubClient {
  const settings = typeof connection === "string" ? parseHubConnectionString(connection) : connection;
  const retryOptions = checkRetryOptions({ ...DEFAULT_RETRY_OPTIONS, ...options.retry });
  const { registry, client, close } = connectSdk(settings, {
    ...(options.trustedCa !== undefined && { trustedCa: options.trustedCa }),
  });
  const counters = emptyCounters();
  const context: RetryContext = {
    options: retryOptions,
    environment: options.environment ?? REAL_ENVIRONMENT,
    counters,
    // Bearer tokens live inside the SDK's REST client and never reach an error message.
    secrets: "sharedAccessKey" in settings ? [settings.sharedAccessKey, connection as string] : [],
    ...(options.onAttempt && { onAttempt: options.onAttempt }),
    ...(options.logger && { logger: options.logger }),
  };
  const call = <T>(hubCall: HubCall<T>): Promise<T> => callHub(hubCall, context);
  const configurationTarget = (id: string) => `configuration "${id}"`;

  async function getConfiguration(id: string): Promise<HubConfiguration> {
    requireName(id, "configuration id");
    const { responseBody } = await call({
      kind: "configuration.read",
      operation: "read",
      target: configurationTarget(id),
      repeatable: "always",
      attempt: () => registry.getConfiguration(id),
    });
    return responseBody as HubConfiguration;
  }

  async function getDeviceTwin(deviceId: string): Promise<TwinDocument> {
    requireName(deviceId, "device id");
    const { responseBody } = await call({
      kind: "twin.read",
      operation: "read twin of",
      target: `device "${deviceId}"`,
      repeatable: "always",
      attempt: () => registry.getTwin(deviceId),
    });
    return plainTwin(responseBody);
  }

  /** The configuration if it holds exactly what was asked for; undefined otherwise or when unreadable. */
  async function findSame(request: ConfigurationRequest): Promise<{ value: HubConfiguration } | undefined> {
    const existing = await getConfiguration(request.id);
    return sameDeclaration(existing, request) ? { value: existing } : undefined;
  }

  async function* queryPages(query: string, queryOptions: TwinQueryOptions): AsyncGenerator<TwinDocument[]> {
    const sdkQuery = registry.createQuery(query, queryOptions.pageSize);
    const target = `twins "${query.length > 120 ? `${query.slice(0, 117)}...` : query}"`;
    let continuation: string | undefined;
    let page = 0;
    do {
      const token = continuation;
      page += 1;
      const { twins, nextToken } = await call({
        kind: "twins.query",
        operation: `query page ${page} of`,
        target,
        repeatable: "always",
        // The token travels explicitly so a retried page asks for the same page.
        attempt: async () => {
          const page = token === undefined ? await sdkQuery.next() : await sdkQuery.next(token);
          const header = page.message.headers["x-ms-continuation"];
          return {
            twins: ((page.result ?? []) as unknown[]).map(plainTwin),
            nextToken: Array.isArray(header) ? header[0] : header,
          };
        },
      });
      yield twins;
      if (nextToken !== undefined && nextToken === token) {
        throw new HubError({
          operation: `query page ${page} of`,
          target,
          reason: "the hub returned the same continuation token twice",
          attempts: 1,
        });
      }
      continuation = nextToken || undefined;
    } while (continuation !== undefined);
  }

  return {
    hostName: settings.hostName,
    counters,

    async createConfiguration(request) {
      requireName(request.id, "configuration id");
      const created = await call({
        kind: "configuration.create",
        operation: "create",
        target: configurationTarget(request.id),
        repeatable: "always",
        attempt: async () =>
          (await registry.addConfiguration(configurationBody(request))).responseBody as
            HubConfiguration | undefined,
        // An earlier attempt whose answer was lost may have created it: same declaration = done.
        confirmEarlierSuccess: (failure) =>
          failure.kind === "conflict" ? findSame(request) : Promise.resolve(undefined),
      });
      return created?.etag ? created : getConfiguration(request.id);
    },

    getConfiguration,

    async listConfigurations() {
      const { responseBody } = await call({
        kind: "configuration.list",
        operation: "list",
        target: "configurations",
        repeatable: "always",
        attempt: () => registry.getConfigurations(),
      });
      return responseBody as HubConfiguration[];
    },

    async replaceConfiguration(request: ReplaceConfigurationRequest) {
      requireName(request.id, "configuration id");
      requireName(request.etag, "configuration etag");
      const replaced = await call({
        kind: "configuration.replace",
        operation: "replace",
        target: configurationTarget(request.id),
        repeatable: "always",
        attempt: async () =>
          (await registry.updateConfiguration(configurationBody(request, request.etag))).responseBody as
            HubConfiguration | undefined,
        // A lost success changed the etag, so the retry fails the If-Match: same declaration = done.
        confirmEarlierSuccess: (failure) =>
          failure.kind === "conflict" ? findSame(request) : Promise.resolve(undefined),
      });
      return replaced?.etag ? replaced : getConfiguration(request.id);
    },

    async deleteConfiguration(id) {
      requireName(id, "configuration id");
      await call({
        kind: "configuration.delete",
        operation: "delete",
        target: configurationTarget(id),
        repeatable: "always",
        attempt: () => registry.removeConfiguration(id),
        // Gone on a retry means the earlier attempt deleted it.
        confirmEarlierSuccess: (failure) =>
          Promise.resolve(failure.kind === "notFound" ? { value: undefined } : undefined),
      });
    },

    async applyConfigurationContent(deviceId: string, content: ConfigurationContent) {
      requireName(deviceId, "device id");
      await call({
        kind: "configuration.applyToDevice",
        operation: "apply configuration content to",
        target: `device "${deviceId}"`,
        repeatable: "always",
        attempt: () => registry.applyConfigurationContentOnDevice(deviceId, content),
      });
    },

    queryTwins(query, queryOptions = {}) {
      requireName(query, "twin query");
      return { [Symbol.asyncIterator]: () => queryPages(query, queryOptions) };
    },

    getDeviceTwin,

    async getModuleTwin(deviceId, moduleId) {
      requireName(deviceId, "device id");
      requireName(moduleId, "module id");
      const { responseBody } = await call({
        kind: "moduleTwin.read",
        operation: "read twin of",
        target: `module "${deviceId}/${moduleId}"`,
        repeatable: "always",
        attempt: () => registry.getModuleTwin(deviceId, moduleId),
      });
      return plainTwin(responseBody);
    },

    async updateDeviceTags(deviceId, tags, etag = "*") {
      requireName(deviceId, "device id");
      return call({
        kind: "twin.updateTags",
        operation: "update tags of",
        target: `device "${deviceId}"`,
        repeatable: "always",
        attempt: async () => plainTwin((await registry.updateTwin(deviceId, { tags }, etag)).responseBody),
        // A lost success moved the twin's etag, so the retry fails the If-Match: tags as asked = done.
        confirmEarlierSuccess: async (failure) => {
          if (failure.kind !== "conflict") return undefined;
          const twin = await getDeviceTwin(deviceId);
          return hasTags(twin, tags) ? { value: twin } : undefined;
        },
      });
    },

    async invokeModuleMethod(
      deviceId: string,
      moduleId: string,
      request: DirectMethodRequest,
    ): Promise<DirectMethodResult> {
      requireName(deviceId, "device id");
      requireName(moduleId, "module id");
      requireName(request.methodName, "method name");
      const responseTimeoutInSeconds = request.responseTimeoutSeconds ?? 30;
      const connectTimeoutInSeconds = request.connectTimeoutSeconds ?? 0;
      const answer = await call({
        kind: "module.invokeMethod",
        operation: `invoke ${request.methodName} on`,
        target: `module "${deviceId}/${moduleId}"`,
        // A device must not run a method twice because an answer was lost.
        repeatable: "ifNotDelivered",
        attemptTimeoutMs:
          (responseTimeoutInSeconds + connectTimeoutInSeconds) * 1000 + METHOD_TIMEOUT_GRACE_MS,
        attempt: async () => {
          const response = await client.invokeDeviceMethod(deviceId, moduleId, {
            methodName: request.methodName,
            payload: request.payload ?? null,
            responseTimeoutInSeconds,
            connectTimeoutInSeconds,
          });
          return (response.result ?? {}) as { status?: unknown; payload?: unknown };
        },
      });
      return {
        status: typeof answer.status === "number" ? answer.status : 200,
        payload: answer.payload ?? null,
      };
    },

    close,
  };
}
