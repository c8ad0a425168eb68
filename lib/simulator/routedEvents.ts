// What IoT Hub message routing puts on the built-in Event Hub-compatible endpoint for non-telemetry
// events (twin changes, connection state, identity lifecycle), and the consumer-side parser that turns
// a received event back into a typed notification. Shapes follow Microsoft's "IoT Hub non-telemetry
// event schemas" and identity registry lifecycle notification pages.
import { randomUUID } from "node:crypto";
import type { HubEvent } from "./eventLog.js";

export type TwinOpType = "updateTwin" | "replaceTwin";
export type LifecycleOpType =
  "createDeviceIdentity" | "deleteDeviceIdentity" | "createModuleIdentity" | "deleteModuleIdentity";

export const MESSAGE_SOURCE = {
  twinChange: "twinChangeEvents",
  connectionState: "deviceConnectionStateEvents",
  deviceLifecycle: "deviceLifecycleEvents",
  moduleLifecycle: "moduleLifecycleEvents",
} as const;

export const MESSAGE_SCHEMA = {
  twinChange: "twinChangeNotification",
  connectionState: "deviceConnectionStateNotification",
  deviceLifecycle: "deviceLifecycleNotification",
  moduleLifecycle: "moduleLifecycleNotification",
} as const;

interface CommonEventInput {
  hubName: string;
  deviceId: string;
  /** Set for module twins / module identities only. */
  moduleId?: string;
  /** ISO 8601 time of the operation; defaults to enqueuedTime. */
  operationTimestamp?: string;
  /** When the hub enqueued the notification; defaults to now. */
  enqueuedTime?: Date;
  /** Unique id of the event; a random one by default. */
  correlationId?: string;
}

export interface TwinChangeEventInput extends CommonEventInput {
  opType: TwinOpType;
  /** The twin's version after the change. */
  version: number;
  /** updateTwin: only the changed tags / properties.desired / properties.reported (with $metadata, $version).
   *  replaceTwin: the whole twin. */
  body: Record<string, unknown>;
}

export interface ConnectionStateEventInput extends CommonEventInput {
  connected: boolean;
  /** 64 hex digits, strictly increasing per device; compare as strings. */
  sequenceNumber: string;
}

export interface LifecycleEventInput extends CommonEventInput {
  created: boolean;
  /** The identity's twin (deviceId, moduleId, etag, properties ...). */
  twin: Record<string, unknown>;
}

const CONNECTION_SEQUENCE_NUMBER = /^[0-9a-f]{64}$/i;

function requireText(field: string, value: unknown): string {
  if (typeof value !== "string" || value.length === 0) {
    throw new TypeError(`${field} must be a non-empty string, got ${JSON.stringify(value)}`);
  }
  return value;
}

function notification(
  input: CommonEventInput,
  source: string,
  schema: string,
  opType: string,
  body: unknown,
): HubEvent {
  const hubName = requireText("hubName", input.hubName);
  const deviceId = requireText("deviceId", input.deviceId);
  const moduleId = input.moduleId === undefined ? undefined : requireText("moduleId", input.moduleId);
  const enqueuedTime = input.enqueuedTime ?? new Date();
  const operationTimestamp = input.operationTimestamp ?? enqueuedTime.toISOString();
  if (Number.isNaN(Date.parse(operationTimestamp))) {
    throw new TypeError(
      `operationTimestamp must be an ISO 8601 time, got ${JSON.stringify(operationTimestamp)}`,
    );
  }
  const annotations: HubEvent["annotations"] = {
    "iothub-connection-device-id": deviceId,
    ...(moduleId !== undefined && { "iothub-connection-module-id": moduleId }),
    "iothub-enqueuedtime": enqueuedTime.getTime(),
    "iothub-message-source": source,
  };
  const applicationProperties: HubEvent["applicationProperties"] = {
    hubName,
    deviceId,
    ...(moduleId !== undefined && { moduleId }),
    operationTimestamp,
    opType,
    "iothub-message-schema": schema,
  };
  return {
    body,
    annotations,
    applicationProperties,
    properties: {
      contentType: "application/json",
      contentEncoding: "utf-8",
      correlationId: input.correlationId ?? randomUUID().replaceAll("-", ""),
      userId: hubName,
    },
  };
}

/** A device or module twin change, as routed from the TwinChangeEvents data source. */
export function twinChangeEvent(input: TwinChangeEventInput): HubEvent {
  if (input.opType !== "updateTwin" && input.opType !== "replaceTwin") {
    throw new TypeError(`opType must be "updateTwin" or "replaceTwin", got ${JSON.stringify(input.opType)}`);
  }
  if (!Number.isInteger(input.version) || input.version < 1) {
    throw new TypeError(`version must be a positive integer, got ${JSON.stringify(input.version)}`);
  }
  const body = { ...input.body, version: input.version };
  return notification(input, MESSAGE_SOURCE.twinChange, MESSAGE_SCHEMA.twinChange, input.opType, body);
}

/** A device (or module) connecting or disconnecting, as routed from DeviceConnectionStateEvents. */
export function connectionStateEvent(input: ConnectionStateEventInput): HubEvent {
  if (!CONNECTION_SEQUENCE_NUMBER.test(input.sequenceNumber)) {
    throw new TypeError(`sequenceNumber must be 64 hex digits, got ${JSON.stringify(input.sequenceNumber)}`);
  }
  const opType = input.connected ? "deviceConnected" : "deviceDisconnected";
  return notification(input, MESSAGE_SOURCE.connectionState, MESSAGE_SCHEMA.connectionState, opType, {
    sequenceNumber: input.sequenceNumber,
  });
}

/** Formats a per-device counter as a connection state sequence number (64 hex digits, string-ordered). */
export function connectionSequenceNumber(counter: bigint): string {
  if (counter < 0n || counter >= 1n << 256n) {
    throw new RangeError(`connection sequence counter must fit in 256 bits, got ${counter}`);
  }
  return counter.toString(16).padStart(64, "0");
}

/** A device or module identity created or deleted, as routed from Device/ModuleLifecycleEvents. */
export function lifecycleEvent(input: LifecycleEventInput): HubEvent {
  const isModule = input.moduleId !== undefined;
  const verb = input.created ? "create" : "delete";
  const opType: LifecycleOpType = `${verb}${isModule ? "Module" : "Device"}Identity`;
  return isModule
    ? notification(input, MESSAGE_SOURCE.moduleLifecycle, MESSAGE_SCHEMA.moduleLifecycle, opType, input.twin)
    : notification(input, MESSAGE_SOURCE.deviceLifecycle, MESSAGE_SCHEMA.deviceLifecycle, opType, input.twin);
}

// ---- consumer side -------------------------------------------------------------------------------

/** The parts of @azure/event-hubs' ReceivedEventData the parser reads. */
export interface ReceivedEventLike {
  body: unknown;
  properties?: Record<string, unknown>;
  systemProperties?: Record<string, unknown>;
  enqueuedTimeUtc?: Date;
}

interface NotificationCommon {
  hubName: string;
  deviceId: string;
  moduleId?: string;
  operationTimestamp: string;
  /** iothub-enqueuedtime when present, else the Event Hubs enqueued time. */
  enqueuedTime?: Date;
}

export interface TwinChangeNotification extends NotificationCommon {
  kind: "twinChange";
  opType: TwinOpType;
  version: number;
  body: Record<string, unknown>;
}

export interface ConnectionStateNotification extends NotificationCommon {
  kind: "connectionState";
  connected: boolean;
  sequenceNumber: string;
}

export interface LifecycleNotification extends NotificationCommon {
  kind: "lifecycle";
  opType: LifecycleOpType;
  created: boolean;
  twin: Record<string, unknown>;
}

export type HubNotification = TwinChangeNotification | ConnectionStateNotification | LifecycleNotification;

/** A received event that claims to be a hub notification but is malformed; the message names the field. */
export class HubNotificationFormatError extends Error {
  override name = "HubNotificationFormatError";
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value) && !Buffer.isBuffer(value);
}

/** The body as an object: @azure/event-hubs parses JSON data sections, but a raw buffer is accepted too. */
function bodyObject(body: unknown): Record<string, unknown> {
  let value = body;
  if (Buffer.isBuffer(value) || value instanceof Uint8Array) {
    try {
      value = JSON.parse(Buffer.from(value).toString("utf8")) as unknown;
    } catch {
      throw new HubNotificationFormatError("body: not valid UTF-8 JSON");
    }
  }
  if (!isRecord(value)) throw new HubNotificationFormatError("body: must be a JSON object");
  return value;
}

function textProperty(properties: Record<string, unknown>, name: string): string {
  const value = properties[name];
  if (typeof value !== "string" || value.length === 0) {
    throw new HubNotificationFormatError(`application property ${name}: missing or not a string`);
  }
  return value;
}

/**
 * Turns a received event into a typed notification. Returns undefined for events that are not
 * non-telemetry notifications (device telemetry shares the endpoint); throws HubNotificationFormatError
 * for a notification with a missing or wrong field.
 */
export function parseHubNotification(event: ReceivedEventLike): HubNotification | undefined {
  const properties = event.properties ?? {};
  const schema = properties["iothub-message-schema"];
  const known: readonly unknown[] = Object.values(MESSAGE_SCHEMA);
  if (!known.includes(schema)) return undefined;

  const enqueuedMs = event.systemProperties?.["iothub-enqueuedtime"];
  const common: NotificationCommon = {
    hubName: textProperty(properties, "hubName"),
    deviceId: textProperty(properties, "deviceId"),
    operationTimestamp: textProperty(properties, "operationTimestamp"),
  };
  const moduleId = properties["moduleId"];
  if (typeof moduleId === "string" && moduleId.length > 0) common.moduleId = moduleId;
  const enqueuedTime = typeof enqueuedMs === "number" ? new Date(enqueuedMs) : event.enqueuedTimeUtc;
  if (enqueuedTime) common.enqueuedTime = enqueuedTime;
  const opType = textProperty(properties, "opType");
  const body = bodyObject(event.body);

  if (schema === MESSAGE_SCHEMA.twinChange) {
    if (opType !== "updateTwin" && opType !== "replaceTwin") {
      throw new HubNotificationFormatError(
        `application property opType: "${opType}" is not a twin operation`,
      );
    }
    const version = body["version"];
    if (typeof version !== "number" || !Number.isInteger(version)) {
      throw new HubNotificationFormatError("body.version: missing or not an integer");
    }
    return { kind: "twinChange", ...common, opType, version, body };
  }
  if (schema === MESSAGE_SCHEMA.connectionState) {
    if (opType !== "deviceConnected" && opType !== "deviceDisconnected") {
      throw new HubNotificationFormatError(
        `application property opType: "${opType}" is not a connection operation`,
      );
    }
    const sequenceNumber = body["sequenceNumber"];
    if (typeof sequenceNumber !== "string" || !CONNECTION_SEQUENCE_NUMBER.test(sequenceNumber)) {
      throw new HubNotificationFormatError("body.sequenceNumber: must be 64 hex digits");
    }
    return { kind: "connectionState", ...common, connected: opType === "deviceConnected", sequenceNumber };
  }
  const lifecycleOps: readonly string[] = [
    "createDeviceIdentity",
    "deleteDeviceIdentity",
    "createModuleIdentity",
    "deleteModuleIdentity",
  ];
  if (!lifecycleOps.includes(opType)) {
    throw new HubNotificationFormatError(
      `application property opType: "${opType}" is not a lifecycle operation`,
    );
  }
  return {
    kind: "lifecycle",
    ...common,
    opType: opType as LifecycleOpType,
    created: opType.startsWith("create"),
    twin: body,
  };
}
