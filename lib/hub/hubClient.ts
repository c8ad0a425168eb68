// The hub operations the connector needs, as one interface: the Functions app and the scheduler
// depend on this, not on azure-iothub, and tests can put the simulator behind it.

import type { HubCallCounters } from "./hubCallStats.js";

/** What a configuration (IoT Edge deployment) deploys; immutable once created. */
export interface ConfigurationContent {
  modulesContent?: Record<string, unknown>;
  moduleContent?: Record<string, unknown>;
  deviceContent?: Record<string, unknown>;
}

export interface ConfigurationMetrics {
  results?: Record<string, number>;
  queries?: Record<string, string>;
}

/** A configuration as the caller asks for it. */
export interface ConfigurationRequest {
  id: string;
  content: ConfigurationContent;
  targetCondition: string;
  priority: number;
  labels?: Record<string, string>;
  /** Custom metric queries (`SELECT deviceId FROM devices.modules WHERE ...`). */
  metrics?: ConfigurationMetrics;
}

/** A configuration as the hub holds it. */
export interface HubConfiguration extends ConfigurationRequest {
  schemaVersion: string;
  etag: string;
  createdTimeUtc?: string;
  lastUpdatedTimeUtc?: string;
  /** targetedCount, appliedCount, reportedSuccessfulCount, reportedFailedCount. */
  systemMetrics?: ConfigurationMetrics;
}

/**
 * A replacement: the whole declaration and the etag it was read with. Only target condition,
 * priority, labels and metrics may differ from what the hub holds; the hub refuses changed content.
 */
export interface ReplaceConfigurationRequest extends ConfigurationRequest {
  etag: string;
}

export interface TwinDocument {
  deviceId: string;
  moduleId?: string;
  etag: string;
  version?: number;
  tags?: Record<string, unknown>;
  properties: {
    desired: Record<string, unknown>;
    reported: Record<string, unknown>;
  };
  connectionState?: string;
  status?: string;
  [field: string]: unknown;
}

export interface TwinQueryOptions {
  /** Twins per page (x-ms-max-item-count); the hub's default when absent. */
  pageSize?: number;
}

export interface DirectMethodRequest {
  methodName: string;
  payload?: unknown;
  /** How long the hub waits for the module's answer (the hub allows 5–300 s). */
  responseTimeoutSeconds?: number;
  /** How long the hub waits for an offline device to connect (0–300 s). */
  connectTimeoutSeconds?: number;
}

export interface DirectMethodResult {
  /** The status the module answered with (its own code, not HTTP's). */
  status: number;
  payload: unknown;
}

export interface HubClient {
  /** The hub's host name, for messages and metrics labels. */
  readonly hostName: string;
  /** Counters of attempts, 429s, retries and failures since the client was created. */
  readonly counters: Readonly<HubCallCounters>;

  /** Creates a configuration; a create retried after a lost answer that finds the same configuration succeeds. */
  createConfiguration(request: ConfigurationRequest): Promise<HubConfiguration>;
  getConfiguration(id: string): Promise<HubConfiguration>;
  /** All configurations with their metrics, in one call. */
  listConfigurations(): Promise<HubConfiguration[]>;
  /** Replaces a configuration if the etag still matches (HubConflictError otherwise). */
  replaceConfiguration(request: ReplaceConfigurationRequest): Promise<HubConfiguration>;
  /** Deletes a configuration; a delete retried after a lost answer that finds nothing succeeds. */
  deleteConfiguration(id: string): Promise<void>;
  /** Applies content to one device at once, outside the hub's periodic evaluation. */
  applyConfigurationContent(deviceId: string, content: ConfigurationContent): Promise<void>;

  /** Pages of twins matching an IoT Hub query, following continuation tokens. */
  queryTwins(query: string, options?: TwinQueryOptions): AsyncIterable<TwinDocument[]>;
  getDeviceTwin(deviceId: string): Promise<TwinDocument>;
  getModuleTwin(deviceId: string, moduleId: string): Promise<TwinDocument>;
  /** Merges tags into a device twin (null removes a tag); with an etag, only if it still matches. */
  updateDeviceTags(deviceId: string, tags: Record<string, unknown>, etag?: string): Promise<TwinDocument>;

  /** Invokes a direct method on a module (e.g. `$edgeAgent` GetModuleLogs). */
  invokeModuleMethod(
    deviceId: string,
    moduleId: string,
    request: DirectMethodRequest,
  ): Promise<DirectMethodResult>;

  /** Releases kept-alive connections. */
  close(): void;
}
