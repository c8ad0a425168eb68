// Protocol-level tests with a raw AMQP client (rhea), for what the Event Hubs SDK does not let a test
// control: exact link credit, receivers without a token, unknown partitions and filters.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import rhea from "rhea";
import type { Connection, Message, Receiver, EventContext, AmqpError } from "rhea";
import { startEventHubEndpoint, type EventHubEndpoint } from "../../../../dev/simulator/eventHubEndpoint.js";
import { createMemoryEventLog } from "../../../../dev/simulator/memoryEventLog.js";
import type { EventLog } from "../../../../dev/simulator/eventLog.js";
import { twinChangeEvent } from "../../../../dev/simulator/routedEvents.js";
import { inAnHour, sasToken } from "./sasToken.js";
import { waitFor } from "./consumerHarness.js";

const HUB = "proto-hub";
const KEY_NAME = "service";
const KEY = "cHJvdG9jb2wta2V5";
const PARTITION_0 = `${HUB}/ConsumerGroups/$Default/Partitions/0`;

let log: EventLog;
let endpoint: EventHubEndpoint;

beforeAll(async () => {
  log = createMemoryEventLog(1);
  for (let version = 1; version <= 10; version++) {
    log.append(
      "edge-1",
      twinChangeEvent({ hubName: HUB, deviceId: "edge-1", opType: "updateTwin", version, body: {} }),
    );
  }
  endpoint = await startEventHubEndpoint({
    host: "127.0.0.1",
    port: 0,
    hubName: HUB,
    log,
    sharedAccessKeyName: KEY_NAME,
    sharedAccessKey: KEY,
  });
});

afterAll(async () => {
  await endpoint.stop();
});

function sequenceNumberOf(message: Message): unknown {
  return message.message_annotations?.["x-opt-sequence-number"];
}

/** A raw AMQP connection with a $cbs request/response pair, closed by close(). */
async function connect() {
  const connection: Connection = rhea.create_container().connect({ host: "127.0.0.1", port: endpoint.port });
  connection.on("error", () => undefined);
  connection.on("disconnected", () => undefined); // the endpoint closing the socket after close() is expected
  await new Promise((resolve) => connection.once("connection_open", resolve));
  const replies = new Map<string, Message>();
  const cbsSender = connection.open_sender({ target: { address: "$cbs" } });
  const cbsReceiver = connection.open_receiver({
    source: { address: "$cbs" },
    target: { address: "cbs-replies" },
  });
  cbsReceiver.on("message", (context: EventContext) => {
    const message = context.message as Message;
    replies.set(String(message.correlation_id), message);
  });
  await new Promise((resolve) => cbsReceiver.once("receiver_open", resolve));
  let requests = 0;

  async function putToken(audience: string, token: string): Promise<Message> {
    const id = `request-${++requests}`;
    await waitFor("cbs credit", () => cbsSender.sendable());
    cbsSender.send({
      message_id: id,
      reply_to: "cbs-replies",
      application_properties: {
        operation: "put-token",
        type: "servicebus.windows.net:sastoken",
        name: audience,
      },
      body: token,
    });
    await waitFor(`reply to ${id}`, () => replies.has(id));
    return replies.get(id) as Message;
  }

  function openReceiver(address: string, filter: string) {
    const received: Message[] = [];
    const errors: AmqpError[] = [];
    const receiver: Receiver = connection.open_receiver({
      source: {
        address,
        filter: { "apache.org:selector-filter:string": rhea.types.wrap_described(filter, 0x468c00000004) },
      },
      credit_window: 0,
      autoaccept: true,
    });
    receiver.on("message", (context: EventContext) => received.push(context.message as Message));
    receiver.on("receiver_error", (context: EventContext) =>
      errors.push(context.receiver?.error as AmqpError),
    );
    return { receiver, received, errors };
  }

  const audience = (path: string) => `sb://127.0.0.1:${endpoint.port}/${path}`;
  return {
    audience,
    putToken,
    openReceiver,
    /** put-token for the hub: also a round trip that the server answers only after earlier frames. */
    authorize: () => putToken(audience(HUB), sasToken(audience(HUB), KEY_NAME, KEY, inAnHour())),
    close: async () => {
      connection.close();
      await new Promise((resolve) => connection.once("connection_close", resolve));
    },
  };
}

describe("the endpoint's AMQP surface", () => {
  it("sends no more events than the link credit allows, and more when credit is added", async () => {
    const client = await connect();
    await client.authorize();
    const { receiver, received } = client.openReceiver(PARTITION_0, "amqp.annotation.x-opt-offset > '-1'");
    await new Promise((resolve) => receiver.once("receiver_open", resolve));
    receiver.add_credit(3);
    await waitFor("three events", () => received.length >= 3);
    // The server answers this request after handling the credit, so any excess delivery arrives first.
    await client.authorize();
    expect(received.map(sequenceNumberOf)).toEqual([0, 1, 2]);
    receiver.add_credit(2);
    await waitFor("two more events", () => received.length >= 5);
    await client.authorize();
    expect(received.map(sequenceNumberOf)).toEqual([0, 1, 2, 3, 4]);
    await client.close();
  });

  it("answers put-token with 202 for a valid token and 401 for an expired one", async () => {
    const client = await connect();
    const ok = await client.authorize();
    expect(ok.application_properties?.["status-code"]).toBe(202);
    const past = Math.floor(Date.now() / 1000) - 60;
    const expired = await client.putToken(
      client.audience(HUB),
      sasToken(client.audience(HUB), KEY_NAME, KEY, past),
    );
    expect(expired.application_properties).toMatchObject({
      "status-code": 401,
      "status-description": expect.stringMatching(/expired/),
    });
    await client.close();
  });

  it("refuses a token for one entity used to claim another", async () => {
    const client = await connect();
    const otherHub = client.audience("other-hub");
    const reply = await client.putToken(client.audience(HUB), sasToken(otherHub, KEY_NAME, KEY, inAnHour()));
    expect(reply.application_properties?.["status-code"]).toBe(401);
    await client.close();
  });

  it("refuses a partition receiver on a connection that has not put a token", async () => {
    const client = await connect();
    const { errors } = client.openReceiver(PARTITION_0, "amqp.annotation.x-opt-offset > '-1'");
    await waitFor("the refusal", () => errors.length >= 1);
    expect(errors[0]).toMatchObject({ condition: "amqp:unauthorized-access" });
    await client.close();
  });

  it("refuses a partition that does not exist, listing the partitions", async () => {
    const client = await connect();
    await client.authorize();
    const { errors } = client.openReceiver(
      `${HUB}/ConsumerGroups/$Default/Partitions/7`,
      "amqp.annotation.x-opt-offset > '-1'",
    );
    await waitFor("the refusal", () => errors.length >= 1);
    expect(errors[0]).toMatchObject({
      condition: "com.microsoft:argument-out-of-range",
      description: 'partition "7" does not exist: partitions are 0',
    });
    await client.close();
  });

  it("refuses a start filter it does not understand, quoting it", async () => {
    const client = await connect();
    await client.authorize();
    const { errors } = client.openReceiver(PARTITION_0, "amqp.annotation.x-opt-offset = '5'");
    await waitFor("the refusal", () => errors.length >= 1);
    expect(errors[0]).toMatchObject({
      condition: "amqp:invalid-field",
      description: expect.stringContaining(`"amqp.annotation.x-opt-offset = '5'"`),
    });
    await client.close();
  });

  it("closes connected clients with amqp:connection:forced when stopped", async () => {
    const stopping = await startEventHubEndpoint({
      host: "127.0.0.1",
      port: 0,
      hubName: HUB,
      log,
      sharedAccessKeyName: KEY_NAME,
      sharedAccessKey: KEY,
    });
    const connection = rhea.create_container().connect({ host: "127.0.0.1", port: stopping.port });
    connection.on("disconnected", () => undefined);
    const closedBy = new Promise<unknown>((resolve) => {
      connection.on("connection_error", (context: EventContext) => resolve(context.connection.error));
    });
    await new Promise((resolve) => connection.once("connection_open", resolve));
    await stopping.stop();
    expect(await closedBy).toMatchObject({ condition: "amqp:connection:forced" });
  });
});
