import type { ReceivedEventData } from "@azure/event-hubs";
import { describe, expect, it } from "vitest";
import { eventHubTriggerData } from "../../../dev/host/eventHubTriggers.js";

const context = {
  consumerGroup: "connector",
  eventHubName: "contoso-hub",
  fullyQualifiedNamespace: "127.0.0.1",
  partitionId: "1",
};

function received(sequenceNumber: number, body: unknown): ReceivedEventData {
  return {
    body,
    sequenceNumber,
    offset: String(sequenceNumber * 100),
    enqueuedTimeUtc: new Date(Date.UTC(2026, 10, 25, 12, 0, sequenceNumber)),
    partitionKey: "edge-1",
    properties: { opType: "updateTwin" },
    systemProperties: { "iothub-connection-device-id": "edge-1" },
    getRawAmqpMessage: () => {
      throw new Error("not used");
    },
  };
}

describe("eventHub trigger data", () => {
  it("passes one event with the singular metadata when cardinality is one", () => {
    const { data, triggerMetadata } = eventHubTriggerData(
      [received(7, Buffer.from('{"version":3}'))],
      context,
      {
        many: false,
        binary: false,
      },
    );
    expect(data).toEqual({ string: '{"version":3}' });
    expect(JSON.parse(triggerMetadata.SequenceNumber!.json!)).toBe(7);
    expect(JSON.parse(triggerMetadata.Offset!.json!)).toBe("700");
    expect(JSON.parse(triggerMetadata.EnqueuedTimeUtc!.json!)).toBe("2026-11-25T12:00:07.000Z");
    expect(JSON.parse(triggerMetadata.SystemProperties!.json!)).toMatchObject({
      "iothub-connection-device-id": "edge-1",
      "x-opt-sequence-number": 7,
      "x-opt-offset": "700",
    });
    expect(JSON.parse(triggerMetadata.PartitionContext!.json!)).toEqual({
      ConsumerGroup: "connector",
      EventHubName: "contoso-hub",
      FullyQualifiedNamespace: "127.0.0.1",
      PartitionId: "1",
    });
  });

  it("passes bodies as bytes when the binding's dataType is binary", () => {
    const { data } = eventHubTriggerData([received(1, Buffer.from([1, 2])), received(2, "text")], context, {
      many: true,
      binary: true,
    });
    expect(data.collectionBytes?.bytes?.map((b) => [...b])).toEqual([[1, 2], [...Buffer.from("text")]]);
  });

  it("passes object bodies as JSON text, which the library parses back", () => {
    const { data, triggerMetadata } = eventHubTriggerData(
      [received(1, { a: 1 }), received(2, "plain")],
      context,
      {
        many: true,
        binary: false,
      },
    );
    expect(data.collectionString?.string).toEqual(['{"a":1}', "plain"]);
    expect(JSON.parse(triggerMetadata.PartitionKeyArray!.json!)).toEqual(["edge-1", "edge-1"]);
    expect(JSON.parse(triggerMetadata.PropertiesArray!.json!)).toEqual([
      { opType: "updateTwin" },
      { opType: "updateTwin" },
    ]);
  });
});
