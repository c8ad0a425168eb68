// Every twin change and connection state change of the simulated hub is routed to the built-in
// Event Hub-compatible endpoint, where a real @azure/event-hubs consumer reads it.
import { EventHubConsumerClient, earliestEventPosition, type ReceivedEventData } from "@azure/event-hubs";
import iothub from "azure-iothub";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { StoredEvent } from "../../../dev/simulator/eventLog.js";
import {
  parseHubNotification,
  type HubNotification,
  type TwinChangeNotification,
} from "../../../lib/hub/hubNotifications.js";
import type { RunningSimulator } from "../../../dev/simulator/simulator.js";
import { baseDeployment } from "../../support/deployments.js";
import { eventually, startTestSimulator } from "../../support/testSimulator.js";

let simulator: RunningSimulator;

beforeAll(async () => {
  simulator = await startTestSimulator({ devices: [{ deviceId: "evented", tags: { site: "a" } }] });
});

afterAll(async () => {
  await simulator?.stop();
});

/** Every routed notification about one device, from all partitions, in order. */
function notificationsOf(deviceId: string): HubNotification[] {
  const stored: StoredEvent[] = simulator.eventLog.partitionIds.flatMap((id) =>
    simulator.eventLog.read(id, 0, 100_000),
  );
  return stored
    .map((event) =>
      parseHubNotification({
        body: event.body,
        properties: event.applicationProperties,
        systemProperties: event.annotations,
      }),
    )
    .filter((n): n is HubNotification => n !== undefined && n.deviceId === deviceId);
}

describe("routed events", () => {
  it("announces the device's creation and its connection", () => {
    const kinds = notificationsOf("evented").map((n) => `${n.kind}:${n.moduleId ?? ""}`);
    expect(kinds.slice(0, 4)).toEqual([
      "lifecycle:",
      "lifecycle:$edgeAgent",
      "lifecycle:$edgeHub",
      "connectionState:",
    ]);
  });

  it("routes a tag update as a twinChangeNotification with the new version and only the changed tags", async () => {
    const registry = iothub.Registry.fromConnectionString(simulator.iotHubConnectionString);
    const twin = (await registry.updateTwin("evented", { tags: { site: "b" } }, "*"))
      .responseBody as unknown as { version: number };
    const change = notificationsOf("evented").find(
      (n) => n.kind === "twinChange" && n.moduleId === undefined,
    );
    expect(change).toMatchObject({
      kind: "twinChange",
      opType: "updateTwin",
      version: twin.version,
      body: { tags: { site: "b" } },
    });
  });

  it("routes $edgeAgent reported changes and applied configurations as module twin changes", async () => {
    const registry = iothub.Registry.fromConnectionString(simulator.iotHubConnectionString);
    await registry.addConfiguration(
      baseDeployment("evented-deployment", {
        targetCondition: "tags.site='b'",
        modules: { app: { image: "example/app:1" } },
      }),
    );
    await simulator.fleet.evaluateNow();
    await eventually(
      () => notificationsOf("evented"),
      (all) =>
        all.some(
          (n) =>
            n.kind === "twinChange" &&
            n.moduleId === "$edgeAgent" &&
            JSON.stringify(n.body).includes('"runtimeStatus":"running"'),
        ),
    );
    const agentChanges = notificationsOf("evented").filter(
      (n): n is TwinChangeNotification => n.kind === "twinChange" && n.moduleId === "$edgeAgent",
    );
    expect(
      agentChanges.some((n) => JSON.stringify(n.body).includes('"evented-deployment":{"status":"Applied"}')),
    ).toBe(true);
    const versions = agentChanges.map((n) => n.version);
    expect(versions).toEqual([...versions].sort((a, b) => a - b));
    expect(new Set(versions).size).toBe(versions.length);
  });

  it("routes disconnect and reconnect with strictly increasing sequence numbers", () => {
    simulator.fleet.setOnline("evented", false);
    simulator.fleet.setOnline("evented", true);
    const connections = notificationsOf("evented").filter((n) => n.kind === "connectionState");
    expect(connections.map((n) => (n.kind === "connectionState" ? n.connected : undefined))).toEqual([
      true,
      false,
      true,
    ]);
    const sequence = connections.map((n) => (n.kind === "connectionState" ? n.sequenceNumber : ""));
    expect(sequence).toEqual([...sequence].sort());
    expect(new Set(sequence).size).toBe(3);
  });
});

describe("the built-in endpoint", () => {
  it("delivers the events to a real EventHubConsumerClient", async () => {
    // A hub of its own, so the consumer reads only a handful of events.
    const quiet = await startTestSimulator({ devices: [{ deviceId: "consumed" }] });
    const client = new EventHubConsumerClient("$Default", quiet.eventHubConnectionString);
    const received: ReceivedEventData[] = [];
    const subscription = client.subscribe(
      {
        processEvents: (events) => {
          received.push(...events);
          return Promise.resolve();
        },
        processError: () => Promise.resolve(),
      },
      { startPosition: earliestEventPosition, maxWaitTimeInSeconds: 1 },
    );
    try {
      quiet.fleet.setTags("consumed", { site: "c" });
      quiet.fleet.setOnline("consumed", false);
      const events = await eventually(
        () => received.map((event) => parseHubNotification(event)),
        (all) => all.some((n) => n?.kind === "connectionState" && !n.connected),
        { attempts: 500, intervalMs: 40 },
      );
      expect(events.some((n) => n?.kind === "twinChange" && n.opType === "updateTwin")).toBe(true);
      expect(received[0]?.properties?.["hubName"]).toBe(quiet.hubName);
    } finally {
      await subscription.close();
      await client.close();
      await quiet.stop();
    }
  });
});
