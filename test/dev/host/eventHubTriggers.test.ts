// The eventHub trigger reads the simulator's built-in Event Hub-compatible endpoint (real AMQP,
// real EventHubConsumerClient) and checkpoints in Azurite.
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startEventHubEndpoint, type EventHubEndpoint } from "../../../dev/simulator/eventHubEndpoint.js";
import type { EventLog } from "../../../dev/simulator/eventLog.js";
import { createMemoryEventLog } from "../../../dev/simulator/memoryEventLog.js";
import { connectionSequenceNumber, connectionStateEvent } from "../../../dev/simulator/routedEvents.js";
import { startLocalAzurite, type LocalAzurite } from "../../../dev/localAzurite.js";
import { startHostProcess } from "../../../dev/host/hostProcess.js";

const hubName = "fixture-hub";

interface Batch {
  bodies: { sequenceNumber: string }[];
  sequenceNumbers: number[];
  offsets: string[];
  enqueuedTimes: string[];
  partitionKeys: (string | null)[];
  properties: Record<string, unknown>[];
  systemProperties: Record<string, unknown>[];
  partitionContext: Record<string, unknown>;
}

describe("eventHub triggers in the local host", { timeout: 90_000 }, () => {
  let azurite: LocalAzurite;
  let endpoint: EventHubEndpoint;
  let log: EventLog;
  let workDir: string;
  let eventsFile: string;
  let settingsFile: string;
  let connectionCounter = 0n;

  function connect(deviceId: string): void {
    connectionCounter++;
    log.append(
      deviceId,
      connectionStateEvent({
        hubName,
        deviceId,
        connected: true,
        sequenceNumber: connectionSequenceNumber(connectionCounter),
      }),
    );
  }

  function batches(): Batch[] {
    if (!existsSync(eventsFile)) return [];
    return readFileSync(eventsFile, "utf8")
      .split("\n")
      .filter((line) => line.length > 0)
      .map((line) => JSON.parse(line) as Batch);
  }

  async function waitForBodies(count: number): Promise<Batch[]> {
    for (let attempt = 0; attempt < 400; attempt++) {
      const received = batches();
      if (received.flatMap((b) => b.bodies).length >= count) return received;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    throw new Error(`fewer than ${count} events arrived: ${JSON.stringify(batches())}`);
  }

  beforeAll(async () => {
    azurite = await startLocalAzurite();
    log = createMemoryEventLog(2);
    endpoint = await startEventHubEndpoint({
      host: "127.0.0.1",
      port: 0,
      hubName,
      log,
      sharedAccessKeyName: "service",
      sharedAccessKey: Buffer.from("local-host-event-hub-test-key").toString("base64"),
      consumerGroups: ["connector"],
    });
    workDir = mkdtempSync(path.join(tmpdir(), "local-host-eventhub-"));
    eventsFile = path.join(workDir, "events.txt");
    settingsFile = path.join(workDir, "local.settings.json");
    writeFileSync(
      settingsFile,
      JSON.stringify({
        Values: {
          AzureWebJobsStorage: azurite.connectionString,
          FIXTURE_EVENTHUB_CONNECTION: endpoint.connectionString,
          FIXTURE_EVENTHUB_NAME: hubName,
          FIXTURE_EVENTS_FILE: eventsFile,
        },
      }),
    );
  });

  afterAll(async () => {
    await endpoint?.stop();
    await azurite?.stop();
    if (workDir) rmSync(workDir, { recursive: true, force: true });
  });

  it("passes a batch of bodies with the per-event metadata arrays, and resumes after a restart from its checkpoint", async () => {
    for (let i = 0; i < 3; i++) connect("edge-1");
    const first = await startHostProcess({ settingsFile, entry: "events/hubEvents.js" });
    let received: Batch[];
    try {
      received = await waitForBodies(3);
    } finally {
      await first.stop();
    }
    const [batch] = received;
    expect(batch!.bodies[0]).toEqual({ sequenceNumber: connectionSequenceNumber(1n) });
    expect(received.flatMap((b) => b.sequenceNumbers)).toEqual([0, 1, 2]);
    expect(batch!.offsets.length).toBe(batch!.bodies.length);
    expect(Number.isNaN(Date.parse(batch!.enqueuedTimes[0]!))).toBe(false);
    expect(batch!.properties[0]).toMatchObject({ hubName, deviceId: "edge-1", opType: "deviceConnected" });
    expect(batch!.systemProperties[0]).toMatchObject({
      "iothub-connection-device-id": "edge-1",
      "iothub-message-source": "deviceConnectionStateEvents",
      "x-opt-sequence-number": 0,
      sequenceNumber: 0,
    });
    expect(batch!.partitionContext).toMatchObject({ eventHubName: hubName, consumerGroup: "connector" });

    for (let i = 0; i < 2; i++) connect("edge-1");
    const second = await startHostProcess({ settingsFile, entry: "events/hubEvents.js" });
    try {
      const all = await waitForBodies(5);
      expect(all.flatMap((b) => b.sequenceNumbers)).toEqual([0, 1, 2, 3, 4]);
    } finally {
      await second.stop();
    }
  });
});
