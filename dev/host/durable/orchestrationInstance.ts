// The stored record of one orchestration instance, and the status view the durable client reads.
import type { HistoryEvent } from "./historyEvents.js";

export type RuntimeStatus = "Pending" | "Running" | "Completed" | "Failed" | "Terminated";

export const terminalStatuses: ReadonlySet<RuntimeStatus> = new Set(["Completed", "Failed", "Terminated"]);

export interface RetryOptions {
  firstRetryIntervalInMilliseconds: number;
  maxNumberOfAttempts: number;
  backoffCoefficient?: number;
  maxRetryIntervalInMilliseconds?: number;
}

/** A task scheduled with retry options: what to schedule again, and how many attempts failed. */
export interface RetryChain {
  kind: "activity" | "subOrchestration";
  name: string;
  input: string | null;
  instanceId?: string;
  options: RetryOptions;
  failedAttempts: number;
}

export interface ParentLink {
  instanceId: string;
  executionId: string;
  taskId: number;
}

export interface InstanceRecord {
  instanceId: string;
  name: string;
  executionId: string;
  runtimeStatus: RuntimeStatus;
  /** JSON text, as in history events. */
  input: string | null;
  output: string | null;
  customStatus: string | null;
  createdTime: string;
  lastUpdatedTime: string;
  history: HistoryEvent[];
  /** Next id for a scheduled task, timer or sent event; mirrors the replay engine's sequence number. */
  nextEventId: number;
  /** How many of the orchestrator's (cumulative) actions this execution has already carried out. */
  handledActions: number;
  /** Retry chains by the id they wait on: the attempt's task id or the retry timer's id. */
  retries: Record<string, RetryChain>;
  parent?: ParentLink;
}

export interface OrchestrationStatus {
  name: string;
  instanceId: string;
  runtimeStatus: RuntimeStatus;
  input: unknown;
  customStatus: unknown;
  output: unknown;
  createdTime: string;
  lastUpdatedTime: string;
  history?: unknown[];
}

function parsed(text: string | null): unknown {
  return text === null ? null : JSON.parse(text);
}

export function statusOf(
  record: InstanceRecord,
  options: { showInput?: boolean; showHistory?: boolean; showHistoryOutput?: boolean } = {},
): OrchestrationStatus {
  const status: OrchestrationStatus = {
    name: record.name,
    instanceId: record.instanceId,
    runtimeStatus: record.runtimeStatus,
    input: options.showInput === false ? null : parsed(record.input),
    customStatus: parsed(record.customStatus),
    output: parsed(record.output),
    createdTime: record.createdTime,
    lastUpdatedTime: record.lastUpdatedTime,
  };
  if (options.showHistory) {
    status.history = record.history.map(({ MessageId: _messageId, IsPlayed: _played, ...event }) =>
      options.showHistoryOutput ? event : { ...event, Result: undefined, Input: undefined },
    );
  }
  return status;
}

export function newInstanceRecord(fields: {
  instanceId: string;
  name: string;
  executionId: string;
  input: string | null;
  parent?: ParentLink;
}): InstanceRecord {
  const now = new Date().toISOString();
  return {
    ...fields,
    runtimeStatus: "Pending",
    output: null,
    customStatus: null,
    createdTime: now,
    lastUpdatedTime: now,
    history: [],
    nextEventId: 0,
    handledActions: 0,
    retries: {},
  };
}
