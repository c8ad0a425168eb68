// Contract tests: the real @azure/event-hubs EventHubConsumerClient reads the simulator's built-in
// Event Hub-compatible endpoint over AMQP on 127.0.0.1.
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { EventHubConsumerClient, earliestEventPosition, latestEventPosition } from "@azure/event-hubs";
import { startEventHubEndpoint, type EventHubEndpoint } from "../../../../dev/simulator/eventHubEndpoint.js";
import { createMemoryEventLog } from "../../../../dev/simulator/memoryEventLog.js";
import type { EventLog, StoredEvent } from "../../../../dev/simulator/eventLog.js";
import { parseHubNotification } from "../../../../lib/hub/hubNotifications.js";
import {
  connectionSequenceNumber,
  connectionStateEvent,
  twinChangeEvent,
} from "../../../../dev/simulator/routedEvents.js";
import { collect, noRetries, waitFor } from "./consumerHarness.js";

const HUB = "contoso-hub";
const KEY_NAME = "service";
const KEY = "c2ltdWxhdG9yLWtleS1mb3ItdGVzdHMtb25seQ==";

let log: EventLog;
let endpoint: EventHubEndpoint;
const clients: EventHubConsumerClient[] = [];

function client(options: { consumerGroup?: string; connectionString?: string } = {}): EventHubConsumerClient {
  const created = new EventHubConsumerClient(
    options.consumerGroup ?? EventHubConsumerClient.defaultConsumerGroupName,
    options.connectionString ?? endpoint.connectionString,
    noRetries,
  );
  clients.push(created);
  return created;
}

function edgeAgentChange(deviceId: string, version: number): StoredEvent {
  return log.append(
    deviceId,
    twinChangeEvent({
      hubName: HUB,
      deviceId,
      moduleId: "$edgeAgent",
      opType: "updateTwin",
      version,
      body: {
        properties: { reported: { modules: { sensor: { runtimeStatus: "running" } }, $version: version } },
      },
    }),
  );
}

function eventsOn(partitionId: string): StoredEvent[] {
  return log.read(partitionId, 0, 10_000);
}

beforeAll(async () => {
  log = createMemoryEventLog(4);
  for (let device = 0; device < 12; device++) {
    edgeAgentChange(`edge-${device}`, 1);
    log.append(
      `edge-${device}`,
      connectionStateEvent({
        hubName: HUB,
        deviceId: `edge-${device}`,
        connected: true,
        sequenceNumber: connectionSequenceNumber(BigInt(device + 1)),
      }),
    );
  }
  endpoint = await startEventHubEndpoint({
    host: "127.0.0.1",
    port: 0,
    hubName: HUB,
    log,
    sharedAccessKeyName: KEY_NAME,
    sharedAccessKey: KEY,
    consumerGroups: ["connector", "watchers", "owners"],
  });
});

afterEach(async () => {
  await Promise.all(clients.splice(0).map((c) => c.close()));
});

afterAll(async () => {
  await endpoint.stop();
});

describe("hub and partition properties", () => {
  it("reports the hub's name and partitions", async () => {
    const consumer = client();
    expect(await consumer.getPartitionIds()).toEqual(["0", "1", "2", "3"]);
    expect(await consumer.getEventHubProperties()).toMatchObject({
      name: HUB,
      partitionIds: ["0", "1", "2", "3"],
    });
  });

  it("reports each partition's sequence numbers and offsets as the log holds them", async () => {
    const consumer = client();
    for (const partitionId of log.partitionIds) {
      const info = log.partitionInfo(partitionId);
      expect(await consumer.getPartitionProperties(partitionId)).toEqual({
        eventHubName: HUB,
        partitionId,
        beginningSequenceNumber: info.beginningSequenceNumber,
        lastEnqueuedSequenceNumber: info.lastEnqueuedSequenceNumber,
        lastEnqueuedOffset: info.lastEnqueuedOffset,
        lastEnqueuedOnUtc: info.lastEnqueuedTimeUtc,
        isEmpty: info.isEmpty,
      });
    }
  });
});

describe("reading events", () => {
  it("delivers every stored event from the earliest position with IoT Hub's body, annotations and properties", async () => {
    const stored = log.partitionIds.flatMap(eventsOn);
    const received = collect(client(), { startPosition: earliestEventPosition });
    await waitFor("every stored event", () => received.events.length >= stored.length);
    await received.subscription.close();

    expect(received.events).toHaveLength(stored.length);
    for (const original of stored) {
      const event = received.events.find(
        (e) => e.partitionId === original.partitionId && e.sequenceNumber === original.sequenceNumber,
      );
      expect(event, `event ${original.partitionId}/${original.sequenceNumber}`).toBeDefined();
      expect(event?.body).toEqual(original.body);
      expect(event?.offset).toBe(original.offset);
      expect(event?.enqueuedTimeUtc).toEqual(original.enqueuedTime);
      expect(event?.properties).toEqual(original.applicationProperties);
      expect(event?.contentType).toBe("application/json");
      expect(event?.correlationId).toBe(original.properties.correlationId);
      expect(event?.systemProperties).toMatchObject({
        ...original.annotations,
        contentEncoding: "utf-8",
      });
    }
  });

  it("keeps each partition's events in sequence order", async () => {
    const received = collect(client(), { partitionId: "1", startPosition: earliestEventPosition });
    const expected = eventsOn("1").map((e) => e.sequenceNumber);
    await waitFor("partition 1", () => received.events.length >= expected.length);
    await received.subscription.close();
    expect(received.events.map((e) => e.sequenceNumber)).toEqual(expected);
  });

  it("yields events the app's parser turns into typed notifications", async () => {
    const received = collect(client(), { partitionId: "2", startPosition: earliestEventPosition });
    await waitFor("partition 2", () => received.events.length >= eventsOn("2").length);
    await received.subscription.close();
    const notifications = received.events.map(parseHubNotification);
    expect(notifications.filter((n) => n?.kind === "twinChange").length).toBeGreaterThan(0);
    expect(notifications.filter((n) => n?.kind === "connectionState").length).toBeGreaterThan(0);
    expect(notifications).not.toContain(undefined);
  });

  it("resumes after a sequence number with exactly the rest of the partition", async () => {
    const all = eventsOn("0");
    const received = collect(client(), { partitionId: "0", startPosition: { sequenceNumber: 2 } });
    await waitFor("the rest of partition 0", () => received.events.length >= all.length - 3);
    await received.subscription.close();
    expect(received.events.map((e) => e.sequenceNumber)).toEqual(all.slice(3).map((e) => e.sequenceNumber));
  });

  it("includes the named event when resuming from a sequence number inclusively", async () => {
    const all = eventsOn("0");
    const received = collect(client(), {
      partitionId: "0",
      startPosition: { sequenceNumber: 2, isInclusive: true },
    });
    await waitFor("partition 0 from 2", () => received.events.length >= all.length - 2);
    await received.subscription.close();
    expect(received.events[0]?.sequenceNumber).toBe(2);
    expect(received.events).toHaveLength(all.length - 2);
  });

  it("resumes after an offset with exactly the rest of the partition", async () => {
    const all = eventsOn("3");
    const checkpoint = all[1] as StoredEvent;
    const received = collect(client(), { partitionId: "3", startPosition: { offset: checkpoint.offset } });
    await waitFor("the rest of partition 3", () => received.events.length >= all.length - 2);
    await received.subscription.close();
    expect(received.events.map((e) => e.offset)).toEqual(all.slice(2).map((e) => e.offset));
  });

  it("starts after an enqueued time", async () => {
    const before = edgeAgentChange("edge-late", 2);
    await new Promise((resolve) => setTimeout(resolve, 5)); // the next append gets a later enqueued time
    const after = edgeAgentChange("edge-late", 3);
    const received = collect(client(), {
      partitionId: after.partitionId,
      startPosition: { enqueuedOn: before.enqueuedTime },
    });
    await waitFor("the event after the time", () => received.events.length >= 1);
    await received.subscription.close();
    expect(received.events.map((e) => e.sequenceNumber)).toEqual([after.sequenceNumber]);
  });

  it("delivers events appended while subscribed, and only those when starting at the latest position", async () => {
    const received = collect(client({ consumerGroup: "watchers" }), { startPosition: latestEventPosition });
    // Receivers attach asynchronously: "latest" means the end of the partition when each one attaches.
    await waitFor("receivers on all partitions", () => endpoint.openReceiverCount("watchers") >= 4);
    const appended = [
      edgeAgentChange("edge-0", 5),
      edgeAgentChange("edge-5", 5),
      edgeAgentChange("edge-9", 5),
    ];
    await waitFor("the appended events", () => received.events.length >= appended.length);
    await received.subscription.close();
    expect(received.events.map((e) => `${e.partitionId}/${e.sequenceNumber}`).sort()).toEqual(
      appended.map((e) => `${e.partitionId}/${e.sequenceNumber}`).sort(),
    );
  });

  it("reads through a configured consumer group independently of $Default", async () => {
    const received = collect(client({ consumerGroup: "connector" }), {
      partitionId: "0",
      startPosition: earliestEventPosition,
    });
    await waitFor(
      "partition 0 for the connector group",
      () => received.events.length >= eventsOn("0").length,
    );
    await received.subscription.close();
    expect(received.errors).toEqual([]);
  });
});

describe("runtime metrics", () => {
  it("reports the partition's last enqueued event to a receiver that tracks it", async () => {
    const last = log.partitionInfo("2");
    let tracked: { sequenceNumber?: number; offset?: string } | undefined;
    const subscription = client().subscribe(
      "2",
      {
        processEvents: (_events, context) => {
          tracked = context.lastEnqueuedEventProperties;
          return Promise.resolve();
        },
        processError: () => Promise.resolve(),
      },
      {
        startPosition: earliestEventPosition,
        trackLastEnqueuedEventProperties: true,
        maxWaitTimeInSeconds: 1,
      },
    );
    await waitFor("tracked properties", () => tracked?.sequenceNumber !== undefined);
    await subscription.close();
    expect(tracked).toMatchObject({
      sequenceNumber: last.lastEnqueuedSequenceNumber,
      offset: last.lastEnqueuedOffset,
    });
  });
});

describe("receiver lifetime", () => {
  it("releases a partition receiver when its subscription closes", async () => {
    const consumer = client({ consumerGroup: "connector" });
    const received = collect(consumer, { partitionId: "3", startPosition: latestEventPosition });
    await waitFor("the receiver", () => endpoint.openReceiverCount("connector") === 1);
    await received.subscription.close();
    await consumer.close();
    await waitFor("the receiver to be released", () => endpoint.openReceiverCount("connector") === 0);
  });
});

describe("refusals", () => {
  it("refuses to start without a key or with a bad port, naming the option", async () => {
    const base = {
      host: "127.0.0.1",
      port: 0,
      hubName: HUB,
      log,
      sharedAccessKeyName: KEY_NAME,
      sharedAccessKey: KEY,
    };
    await expect(startEventHubEndpoint({ ...base, sharedAccessKey: "" })).rejects.toThrow(/sharedAccessKey/);
    await expect(startEventHubEndpoint({ ...base, port: 70_000 })).rejects.toThrow(/port must be an integer/);
  });

  it("refuses a client whose shared access key is wrong with an authorization error", async () => {
    const wrongKey = endpoint.connectionString.replace(KEY, "d3Jvbmcta2V5");
    const consumer = client({ connectionString: wrongKey });
    const failure = await consumer.getEventHubProperties().catch((error: unknown) => error);
    expect(failure).toMatchObject({ code: "UnauthorizedError" });
    expect(String((failure as Error).message)).toMatch(/signature does not match/);
    expect(String((failure as Error).message)).not.toContain(KEY);
  });

  it("refuses a key name that is not the hub's authorization rule", async () => {
    const wrongName = endpoint.connectionString.replace(
      `SharedAccessKeyName=${KEY_NAME}`,
      "SharedAccessKeyName=device",
    );
    const failure = await client({ connectionString: wrongName })
      .getPartitionIds()
      .catch((error: unknown) => error);
    expect(failure).toMatchObject({ code: "UnauthorizedError" });
  });

  it("refuses a consumer group that does not exist", async () => {
    const received = collect(client({ consumerGroup: "nobody" }), {
      partitionId: "0",
      startPosition: earliestEventPosition,
    });
    await waitFor("an error", () => received.errors.length >= 1);
    await received.subscription.close();
    expect(received.errors[0]).toMatchObject({ code: "MessagingEntityNotFoundError" });
    expect(received.errors[0]?.message).toMatch(/nobody/);
    expect(received.events).toEqual([]);
  });

  it("disconnects a receiver when another one takes the partition with a higher owner level", async () => {
    const owners = { consumerGroup: "owners" };
    const first = collect(client(owners), {
      partitionId: "1",
      ownerLevel: 1,
      startPosition: latestEventPosition,
    });
    await waitFor("the first receiver", () => endpoint.openReceiverCount("owners") >= 1);
    const second = collect(client(owners), {
      partitionId: "1",
      ownerLevel: 2,
      startPosition: latestEventPosition,
    });
    await waitFor("the first receiver to be disconnected", () => first.errors.length >= 1);
    await Promise.all([first.subscription.close(), second.subscription.close()]);
    expect(first.errors[0]).toMatchObject({ code: "ReceiverDisconnectedError" });
    expect(second.errors).toEqual([]);
  });

  it("disconnects a receiver when another one takes the partition with the same owner level, as load balancing consumers do", async () => {
    // Consumers with a checkpoint store all attach at owner level 0; without one the client sends no level
    // for 0, so 1 stands for it here.
    const owners = { consumerGroup: "owners" };
    const first = collect(client(owners), {
      partitionId: "2",
      ownerLevel: 1,
      startPosition: latestEventPosition,
    });
    await waitFor("the first receiver", () => endpoint.openReceiverCount("owners") >= 1);
    const second = collect(client(owners), {
      partitionId: "2",
      ownerLevel: 1,
      startPosition: latestEventPosition,
    });
    await waitFor("the first receiver to be disconnected", () => first.errors.length >= 1);
    const [partitionTwoDevice] = ["edge-0", "edge-1", "edge-2", "edge-3", "edge-4", "edge-5"].filter(
      (deviceId) =>
        eventsOn("2").some((event) => event.annotations["iothub-connection-device-id"] === deviceId),
    );
    edgeAgentChange(partitionTwoDevice!, 9);
    await waitFor("the event at the new owner", () => second.events.length >= 1);
    await Promise.all([first.subscription.close(), second.subscription.close()]);
    expect(first.errors[0]).toMatchObject({ code: "ReceiverDisconnectedError" });
    expect(first.events).toEqual([]);
    expect(endpoint.openReceiverCount("owners")).toBe(0);
  });
});
