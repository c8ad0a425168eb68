// What IoT Hub message routing puts on the built-in Event Hub-compatible endpoint for non-telemetry
// events (twin changes, connection state, identity lifecycle). Shapes follow Microsoft's "IoT Hub
// non-telemetry event schemas"; the names and the consumer-side parser are in lib/hub/hubNotifications.ts.
import { randomUUID } from "node:crypto";
import type { HubEvent } from "./eventLog.js";
import {
  CONNECTION_SEQUENCE_NUMBER,
  MESSAGE_SCHEMA,
  MESSAGE_SOURCE,
  type LifecycleOpType,
  type TwinOpType,
} from "../../lib/hub/hubNotifications.js";

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
