// The consumer side of IoT Hub's non-telemetry events on the built-in Event Hub-compatible endpoint
// (twin changes, connection state, identity lifecycle): their names and a parser that turns a received
// event into a typed notification. Shapes follow Microsoft's "IoT Hub non-telemetry event schemas" and
// identity registry lifecycle notification pages. The app reads events with it; the simulator builds
// events with the same names (dev/simulator/routedEvents.ts).

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

/** 64 hex digits, strictly increasing per device; compare as strings. */
export const CONNECTION_SEQUENCE_NUMBER = /^[0-9a-f]{64}$/i;

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
