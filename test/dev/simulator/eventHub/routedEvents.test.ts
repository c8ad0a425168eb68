import { describe, expect, it } from "vitest";
import { HubNotificationFormatError, parseHubNotification } from "../../../../lib/hub/hubNotifications.js";
import {
  connectionSequenceNumber,
  connectionStateEvent,
  lifecycleEvent,
  twinChangeEvent,
} from "../../../../dev/simulator/routedEvents.js";
import type { HubEvent } from "../../../../dev/simulator/eventLog.js";

const enqueuedTime = new Date("2026-11-25T10:00:00.000Z");

/** What @azure/event-hubs hands a consumer for a routed event (body parsed from its JSON data section). */
function asReceived(event: HubEvent) {
  return {
    body: JSON.parse(JSON.stringify(event.body)),
    properties: event.applicationProperties,
    systemProperties: { ...event.annotations, contentType: event.properties.contentType },
  };
}

describe("routed twin change events", () => {
  const edgeAgentChange = twinChangeEvent({
    hubName: "contoso-hub",
    deviceId: "edge-1",
    moduleId: "$edgeAgent",
    opType: "updateTwin",
    version: 42,
    operationTimestamp: "2026-11-25T09:59:59.123Z",
    enqueuedTime,
    correlationId: "12ab34cd56ef",
    body: {
      properties: {
        reported: {
          modules: { sensor: { runtimeStatus: "running", exitCode: 0 } },
          $metadata: { $lastUpdated: "2026-11-25T09:59:59.123Z" },
          $version: 17,
        },
      },
    },
  });

  it("carries the module twin's annotations, properties and application properties", () => {
    expect(edgeAgentChange.annotations).toEqual({
      "iothub-connection-device-id": "edge-1",
      "iothub-connection-module-id": "$edgeAgent",
      "iothub-enqueuedtime": enqueuedTime.getTime(),
      "iothub-message-source": "twinChangeEvents",
    });
    expect(edgeAgentChange.properties).toEqual({
      contentType: "application/json",
      contentEncoding: "utf-8",
      correlationId: "12ab34cd56ef",
      userId: "contoso-hub",
    });
    expect(edgeAgentChange.applicationProperties).toEqual({
      hubName: "contoso-hub",
      deviceId: "edge-1",
      moduleId: "$edgeAgent",
      operationTimestamp: "2026-11-25T09:59:59.123Z",
      opType: "updateTwin",
      "iothub-message-schema": "twinChangeNotification",
    });
  });

  it("puts the twin version beside only the changed sections in the body", () => {
    expect(edgeAgentChange.body).toEqual({
      version: 42,
      properties: {
        reported: {
          modules: { sensor: { runtimeStatus: "running", exitCode: 0 } },
          $metadata: { $lastUpdated: "2026-11-25T09:59:59.123Z" },
          $version: 17,
        },
      },
    });
  });

  it("omits the module id for a device twin change", () => {
    const deviceChange = twinChangeEvent({
      hubName: "h",
      deviceId: "edge-1",
      opType: "replaceTwin",
      version: 3,
      body: { deviceId: "edge-1", etag: "AAAAAAAAAAM=", tags: { site: "a" } },
    });
    expect(deviceChange.annotations).not.toHaveProperty("iothub-connection-module-id");
    expect(deviceChange.applicationProperties).not.toHaveProperty("moduleId");
  });

  it("refuses a bad opType, version or empty device id naming the field", () => {
    const base = { hubName: "h", deviceId: "d", version: 1, body: {} };
    expect(() => twinChangeEvent({ ...base, opType: "patch" as "updateTwin" })).toThrow(/opType/);
    expect(() => twinChangeEvent({ ...base, opType: "updateTwin", version: 0 })).toThrow(/version/);
    expect(() => twinChangeEvent({ ...base, opType: "updateTwin", deviceId: "" })).toThrow(/deviceId/);
  });

  it("parses back into a typed twin change notification", () => {
    expect(parseHubNotification(asReceived(edgeAgentChange))).toEqual({
      kind: "twinChange",
      hubName: "contoso-hub",
      deviceId: "edge-1",
      moduleId: "$edgeAgent",
      opType: "updateTwin",
      operationTimestamp: "2026-11-25T09:59:59.123Z",
      enqueuedTime,
      version: 42,
      body: edgeAgentChange.body,
    });
  });
});

describe("routed connection state events", () => {
  it("sends deviceConnected with the 64-hex-digit sequence number as the whole body", () => {
    const sequenceNumber = connectionSequenceNumber(0x3an);
    const connected = connectionStateEvent({
      hubName: "h",
      deviceId: "edge-2",
      connected: true,
      sequenceNumber,
    });
    expect(connected.body).toEqual({ sequenceNumber });
    expect(connected.annotations["iothub-message-source"]).toBe("deviceConnectionStateEvents");
    expect(connected.applicationProperties).toMatchObject({
      opType: "deviceConnected",
      "iothub-message-schema": "deviceConnectionStateNotification",
    });
  });

  it("formats sequence numbers so that string order is numeric order", () => {
    const numbers = [9n, 10n, 255n, 256n, 2n ** 200n].map(connectionSequenceNumber);
    expect(numbers.every((n) => n.length === 64)).toBe(true);
    expect([...numbers].sort()).toEqual(numbers);
  });

  it("refuses a sequence number that is not 64 hex digits", () => {
    expect(() =>
      connectionStateEvent({ hubName: "h", deviceId: "d", connected: false, sequenceNumber: "12" }),
    ).toThrow(/sequenceNumber must be 64 hex digits/);
  });

  it("parses deviceDisconnected back", () => {
    const sequenceNumber = connectionSequenceNumber(7n);
    const parsed = parseHubNotification(
      asReceived(connectionStateEvent({ hubName: "h", deviceId: "d", connected: false, sequenceNumber })),
    );
    expect(parsed).toMatchObject({
      kind: "connectionState",
      deviceId: "d",
      connected: false,
      sequenceNumber,
    });
  });
});

describe("routed lifecycle events", () => {
  it("reports a device identity creation with its twin as the body", () => {
    const twin = { deviceId: "edge-3", etag: "AAAAAAAAAAE=", properties: { desired: { $version: 1 } } };
    const created = lifecycleEvent({ hubName: "h", deviceId: "edge-3", created: true, twin });
    expect(created.body).toEqual(twin);
    expect(created.annotations["iothub-message-source"]).toBe("deviceLifecycleEvents");
    expect(created.applicationProperties).toMatchObject({
      opType: "createDeviceIdentity",
      "iothub-message-schema": "deviceLifecycleNotification",
    });
  });

  it("reports a module identity deletion as a module lifecycle event", () => {
    const deleted = lifecycleEvent({ hubName: "h", deviceId: "e", moduleId: "m", created: false, twin: {} });
    expect(deleted.applicationProperties).toMatchObject({ opType: "deleteModuleIdentity", moduleId: "m" });
    expect(parseHubNotification(asReceived(deleted))).toMatchObject({ kind: "lifecycle", created: false });
  });
});

describe("parsing received events", () => {
  it("ignores telemetry that shares the endpoint", () => {
    expect(parseHubNotification({ body: { temperature: 21 }, properties: { alert: "no" } })).toBeUndefined();
  });

  it("accepts a body still in bytes", () => {
    const event = twinChangeEvent({
      hubName: "h",
      deviceId: "d",
      opType: "updateTwin",
      version: 2,
      body: {},
    });
    const received = { ...asReceived(event), body: Buffer.from(JSON.stringify(event.body)) };
    expect(parseHubNotification(received)).toMatchObject({ kind: "twinChange", version: 2 });
  });

  it("names the missing field of a malformed notification", () => {
    const event = twinChangeEvent({
      hubName: "h",
      deviceId: "d",
      opType: "updateTwin",
      version: 2,
      body: {},
    });
    const noVersion = { ...asReceived(event), body: {} };
    expect(() => parseHubNotification(noVersion)).toThrow(HubNotificationFormatError);
    expect(() => parseHubNotification(noVersion)).toThrow(/body.version/);
    const { hubName: _drop, ...withoutHub } = event.applicationProperties;
    expect(() => parseHubNotification({ ...asReceived(event), properties: withoutHub })).toThrow(
      /application property hubName/,
    );
  });
});
