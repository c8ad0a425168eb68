// Messages on the task hub's queues.
import type { HistoryEvent } from "./historyEvents.js";
import type { ParentLink } from "./orchestrationInstance.js";

/** An event for an orchestration instance (control queue); timers are delayed messages. */
export interface ControlMessage {
  instanceId: string;
  /** The execution the event belongs to; events of an older execution are dropped. */
  executionId: string;
  event: HistoryEvent;
}

/** An activity to run (work-item queue). */
export interface ActivityMessage {
  instanceId: string;
  executionId: string;
  taskId: number;
  name: string;
  input: string | null;
}

/** An operation for an entity (entity queue): a call answers its parent, a signal does not. */
export interface EntityMessage {
  /** Scheduler id `@name@key`, name in lower case as the extension writes it. */
  entity: string;
  operation: string;
  input: string | null;
  requestId: string;
  signal: boolean;
  parent?: Omit<ParentLink, "taskId">;
}

/** A new orchestration instance an episode asks for (a sub-orchestration). */
export interface StartRequest {
  name: string;
  instanceId: string;
  input: string | null;
  parent: ParentLink;
}

export type Outgoing =
  | { queue: "control"; body: ControlMessage; delaySeconds?: number }
  | { queue: "workitems"; body: ActivityMessage }
  | { queue: "entities"; body: EntityMessage }
  | { queue: "start"; body: StartRequest };

export function entitySchedulerId(name: string, key: string): string {
  return `@${name.toLowerCase()}@${key}`;
}

export function parseSchedulerId(schedulerId: string): { name: string; key: string } {
  const separator = schedulerId.indexOf("@", 1);
  if (!schedulerId.startsWith("@") || separator < 0) {
    throw new Error(`entity id "${schedulerId}" is not of the form @name@key`);
  }
  return { name: schedulerId.slice(1, separator), key: schedulerId.slice(separator + 1) };
}
