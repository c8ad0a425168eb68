// The simulated hub's built-in Event Hub-compatible endpoint keeps its events here: an append-only
// log per partition, with the sequence numbers and offsets a consumer resumes from. Routing code
// appends; the AMQP endpoint reads and follows.

/** An event as IoT Hub routing produces it, before the endpoint stores it. */
export interface HubEvent {
  /** JSON body (twin change, connection state, lifecycle). */
  body: unknown;
  /** Routing's application properties: hubName, deviceId, moduleId, opType, operationTimestamp, iothub-message-schema. */
  applicationProperties: Record<string, string | number | boolean>;
  /** System properties that travel as message annotations: iothub-connection-device-id, iothub-message-source, ... */
  annotations: Record<string, string | number>;
  /** AMQP message properties: content type and encoding, correlation id, user id (the hub name). */
  properties: { contentType: string; contentEncoding: string; correlationId?: string; userId?: string };
}

/** An event once stored on a partition. */
export interface StoredEvent extends HubEvent {
  partitionId: string;
  sequenceNumber: number;
  /** Byte offset within the partition, as a decimal string (as Event Hubs reports it). */
  offset: string;
  enqueuedTime: Date;
}

export interface PartitionInfo {
  partitionId: string;
  beginningSequenceNumber: number;
  lastEnqueuedSequenceNumber: number;
  lastEnqueuedOffset: string;
  lastEnqueuedTimeUtc: Date;
  isEmpty: boolean;
}

export interface EventLog {
  readonly partitionIds: readonly string[];
  /** Appends to the partition the key hashes to (the device id), as IoT Hub partitions by device. */
  append(partitionKey: string, event: HubEvent): StoredEvent;
  /** Events of one partition with sequence number >= fromSequenceNumber, at most max of them. */
  read(partitionId: string, fromSequenceNumber: number, max: number): StoredEvent[];
  /** Calls listener for every event appended to the partition from now on; returns an unsubscribe function. */
  subscribe(partitionId: string, listener: (event: StoredEvent) => void): () => void;
  partitionInfo(partitionId: string): PartitionInfo;
}
