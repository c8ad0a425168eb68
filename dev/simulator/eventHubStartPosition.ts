// Where a partition receiver starts: Event Hubs receivers send an "apache.org:selector-filter:string"
// such as amqp.annotation.x-opt-offset > '-1' (earliest), > '@latest', >= '1234',
// amqp.annotation.x-opt-sequence-number > '41' or amqp.annotation.x-opt-enqueued-time > '1764064800000'.
import type { EventLog, StoredEvent } from "./eventLog.js";

export type StartFilter =
  | { kind: "offset"; inclusive: boolean; value: string }
  | { kind: "sequenceNumber"; inclusive: boolean; value: number }
  | { kind: "enqueuedTime"; inclusive: boolean; value: number };

const SELECTOR =
  /^\s*amqp\.annotation\.x-opt-(offset|sequence-number|enqueued-time)\s*(>=|>)\s*'([^']*)'\s*$/i;

/** Parses a selector filter; throws an Error naming what is wrong (it becomes the link's detach reason). */
export function parseStartFilter(expression: string): StartFilter {
  const match = SELECTOR.exec(expression);
  if (!match) {
    throw new Error(
      `unsupported selector filter "${expression}": expected amqp.annotation.x-opt-offset, ` +
        `x-opt-sequence-number or x-opt-enqueued-time compared with > or >= to a quoted value`,
    );
  }
  const [, field = "", operator, value = ""] = match;
  const inclusive = operator === ">=";
  switch (field.toLowerCase()) {
    case "offset":
      if (value !== "@latest" && !/^-?\d+$/.test(value)) {
        throw new Error(`x-opt-offset filter value "${value}" is not an offset, -1 or @latest`);
      }
      return { kind: "offset", inclusive, value };
    case "sequence-number": {
      const sequenceNumber = Number(value);
      if (!Number.isSafeInteger(sequenceNumber)) {
        throw new Error(`x-opt-sequence-number filter value "${value}" is not an integer`);
      }
      return { kind: "sequenceNumber", inclusive, value: sequenceNumber };
    }
    default: {
      const epochMs = Number(value);
      if (!Number.isSafeInteger(epochMs)) {
        throw new Error(`x-opt-enqueued-time filter value "${value}" is not epoch milliseconds`);
      }
      return { kind: "enqueuedTime", inclusive, value: epochMs };
    }
  }
}

/** First retained sequence number whose event satisfies `accepts`, assuming it holds for a suffix of the partition. */
function firstAccepted(log: EventLog, partitionId: string, accepts: (event: StoredEvent) => boolean): number {
  const info = log.partitionInfo(partitionId);
  let low = info.beginningSequenceNumber;
  let high = info.lastEnqueuedSequenceNumber + 1;
  while (low < high) {
    const middle = Math.floor((low + high) / 2);
    const event = log.read(partitionId, middle, 1)[0];
    if (event === undefined || accepts(event)) high = middle;
    else low = middle + 1;
  }
  return low;
}

/** The sequence number of the first event a receiver with this filter gets (it may not exist yet). */
export function startSequenceNumber(log: EventLog, partitionId: string, filter: StartFilter): number {
  const info = log.partitionInfo(partitionId);
  const next = info.lastEnqueuedSequenceNumber + 1;
  switch (filter.kind) {
    case "sequenceNumber":
      return Math.max(info.beginningSequenceNumber, filter.inclusive ? filter.value : filter.value + 1);
    case "offset": {
      if (filter.value === "@latest") return next;
      const offset = Number(filter.value);
      return firstAccepted(log, partitionId, (event) =>
        filter.inclusive ? Number(event.offset) >= offset : Number(event.offset) > offset,
      );
    }
    case "enqueuedTime":
      return firstAccepted(log, partitionId, (event) =>
        filter.inclusive
          ? event.enqueuedTime.getTime() >= filter.value
          : event.enqueuedTime.getTime() > filter.value,
      );
  }
}
