// One open partition receiver of the simulated Event Hub endpoint: sends the stored events from its
// start position, then follows appends, never past the link credit the client granted.
import rhea from "rhea";
import type { AmqpError, Connection, Message, Sender } from "rhea";
import type { EventLog, StoredEvent } from "./eventLog.js";

export interface PartitionReaderOptions {
  sender: Sender;
  log: EventLog;
  partitionId: string;
  /** "<consumer group>/<partition id>", lower-cased: receivers with the same key compete for owner level. */
  groupKey: string;
  ownerLevel: number | undefined;
  firstSequenceNumber: number;
  /** The client asked for last-enqueued-event properties on every delivery. */
  trackRuntimeMetric: boolean;
  onClose: () => void;
}

/** Most events read from the log in one go; a pump loops until the credit or the log runs out. */
const MAX_READ = 500;

function toAmqpMessage(event: StoredEvent): Message {
  const annotations: Record<string, unknown> = {};
  for (const [name, value] of Object.entries(event.annotations)) {
    // IoT Hub sends its enqueued time as an AMQP timestamp; the SDK turns it back into epoch ms.
    annotations[name] = name === "iothub-enqueuedtime" && typeof value === "number" ? new Date(value) : value;
  }
  annotations["x-opt-sequence-number"] = rhea.types.wrap_long(event.sequenceNumber);
  annotations["x-opt-offset"] = event.offset;
  annotations["x-opt-enqueued-time"] = event.enqueuedTime;
  const message: Message = {
    // A data section of UTF-8 JSON, as IoT Hub sends it: @azure/event-hubs parses it into event.body.
    body: rhea.message.data_section(Buffer.from(JSON.stringify(event.body) ?? "null", "utf8")) as unknown,
    message_annotations: annotations,
    application_properties: event.applicationProperties,
    content_type: event.properties.contentType,
    content_encoding: event.properties.contentEncoding,
  };
  if (event.properties.correlationId !== undefined) message.correlation_id = event.properties.correlationId;
  // AMQP user-id is binary; rhea's typings say string, but a string would not encode as binary.
  if (event.properties.userId !== undefined) {
    message.user_id = Buffer.from(event.properties.userId, "utf8") as unknown as string;
  }
  return message;
}

export class PartitionReader {
  readonly groupKey: string;
  readonly ownerLevel: number | undefined;
  private next: number;
  /** Deliveries handed to rhea on this link. */
  private sent = 0;
  private closed = false;
  private readonly unsubscribe: () => void;

  constructor(private readonly options: PartitionReaderOptions) {
    this.groupKey = options.groupKey;
    this.ownerLevel = options.ownerLevel;
    this.next = options.firstSequenceNumber;
    // Follow appends; an append only sends when the client has credit left. A failure here must not
    // fail the hub operation that appended, so it detaches this receiver instead.
    this.unsubscribe = options.log.subscribe(options.partitionId, () => {
      try {
        this.pump();
      } catch (error) {
        this.close({ condition: "amqp:internal-error", description: (error as Error).message });
      }
    });
  }

  get connection(): Connection {
    return this.options.sender.connection;
  }

  /**
   * Credit not yet spoken for. rhea only counts a delivery against the link's credit when it writes the
   * transfer, later in the tick; a delivery queued beyond the credit would block every other link of the
   * session, so count queued deliveries ourselves: those sent minus those rhea has written.
   */
  private availableCredit(): number {
    const link = this.options.sender as Sender & { credit: number; delivery_count: number };
    return link.credit - (this.sent - link.delivery_count);
  }

  /** Sends stored events from the cursor, never more than the client's credit. */
  pump(): void {
    const { sender, log, partitionId } = this.options;
    while (!this.closed && sender.is_open()) {
      const budget = Math.min(this.availableCredit(), MAX_READ);
      if (budget <= 0) return;
      const batch = log.read(partitionId, this.next, budget);
      if (batch.length === 0) return;
      for (const event of batch) {
        if (!sender.sendable()) return; // the session's outgoing buffer is full; "sendable" resumes us
        sender.send(this.withRuntimeInfo(toAmqpMessage(event)));
        this.sent += 1;
        this.next = event.sequenceNumber + 1;
      }
    }
  }

  private withRuntimeInfo(message: Message): Message {
    if (!this.options.trackRuntimeMetric) return message;
    const info = this.options.log.partitionInfo(this.options.partitionId);
    return {
      ...message,
      delivery_annotations: {
        last_enqueued_sequence_number: rhea.types.wrap_long(info.lastEnqueuedSequenceNumber),
        last_enqueued_offset: info.lastEnqueuedOffset,
        last_enqueued_time_utc: info.lastEnqueuedTimeUtc,
        runtime_info_retrieval_time_utc: new Date(),
      },
    };
  }

  /** Stops following the log; with an error, also detaches the link with it (e.g. a stolen partition). */
  close(error?: AmqpError): void {
    if (this.closed) return;
    this.closed = true;
    this.unsubscribe();
    if (error && this.options.sender.is_open()) this.options.sender.close(error);
    this.options.onClose();
  }
}
