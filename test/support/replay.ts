// Replays an orchestrator with durable-functions' own replay engine over hand-built Durable Task
// histories, as the Durable extension would pass them after each step (or after a crash), and runs
// an entity function over a batch of operations the way the extension does.
import { createRequire } from "node:module";
import { InvocationContext } from "@azure/functions";
import type { EntityHandler, OrchestrationHandler } from "durable-functions";
import { historyEvents, type HistoryEvent } from "../../dev/host/durable/historyEvents.js";

const require = createRequire(import.meta.url);
const { createOrchestrator, createEntityFunction } =
  require("durable-functions/lib/src/util/testingUtils.js") as {
    createOrchestrator: (
      fn: OrchestrationHandler,
    ) => (trigger: unknown, context: unknown) => Promise<unknown>;
    createEntityFunction: (
      fn: EntityHandler<unknown>,
    ) => (trigger: unknown, context: unknown) => Promise<unknown>;
  };

export interface Action {
  actionType: number;
  functionName?: string;
  input?: unknown;
  operation?: string;
  instanceId?: string;
  fireAt?: string;
  externalEventName?: string;
  compoundActions?: Action[];
}

export interface ReplayState {
  isDone: boolean;
  actions: Action[][];
  output?: unknown;
}

export async function replay(
  orchestrator: OrchestrationHandler,
  history: HistoryEvent[],
  options: { name: string; instanceId: string; input: unknown },
): Promise<ReplayState> {
  const context = new InvocationContext({
    functionName: options.name,
    invocationId: "test",
    logHandler: () => {},
  });
  const binding = {
    history,
    input: options.input,
    instanceId: options.instanceId,
    isReplaying: false,
    upperSchemaVersion: 2,
    maximumShortTimerDuration: "6.00:00:00",
    longRunningTimerIntervalDuration: "3.00:00:00",
    defaultHttpAsyncRequestSleepTimeMillseconds: 30_000,
  };
  return (await createOrchestrator(orchestrator)(binding, context)) as ReplayState;
}

/** Every action of the replay in order, compound ones (Task.all / Task.any) flattened. */
export function flat(actions: Action[][]): Action[] {
  const all: Action[] = [];
  const visit = (action: Action) =>
    action.compoundActions ? action.compoundActions.forEach(visit) : all.push(action);
  actions.flat().forEach(visit);
  return all;
}

export const json = (value: unknown) => JSON.stringify(value);

/** The start of an execution. */
export const started = (name: string, instanceId: string, input: unknown): HistoryEvent[] => [
  historyEvents.orchestratorStarted(),
  historyEvents.executionStarted({ name, input: JSON.stringify(input), instanceId, executionId: "e1" }),
];

/** The end of one episode and the start of the next. */
export const episode = () => [historyEvents.orchestratorCompleted(), historyEvents.orchestratorStarted()];

/** An entity call as the extension records it: the request sent, then its response raised. */
export const entityCalled = (id: number, entity: string, op: string, result: unknown): HistoryEvent[] => [
  historyEvents.eventSent(id, entity, "op", json({ id: `req-${id}`, op, signal: false })),
  ...episode(),
  historyEvents.eventRaised(`req-${id}`, json({ result: json(result) })),
];

/** An activity scheduled and completed with `result`. */
export const activityCompleted = (id: number, name: string, result: unknown): HistoryEvent[] => [
  historyEvents.taskScheduled(id, name, null),
  ...episode(),
  historyEvents.taskCompleted(id, json(result)),
];

export interface EntityOperationResult {
  isError: boolean;
  result?: string;
}

/** Runs the entity over a batch of operations; returns its new state and each operation's result. */
export async function runEntity<T>(
  entity: EntityHandler<T>,
  key: string,
  state: T | undefined,
  operations: { name: string; input?: unknown }[],
): Promise<{ state: T | undefined; results: EntityOperationResult[] }> {
  const context = new InvocationContext({
    functionName: "entity",
    invocationId: "test",
    logHandler: () => {},
  });
  const trigger = {
    self: { name: "entity", key },
    exists: state !== undefined,
    state: state === undefined ? undefined : JSON.stringify(state),
    batch: operations.map((operation) => ({
      name: operation.name,
      signal: false,
      input: operation.input === undefined ? undefined : JSON.stringify(operation.input),
    })),
  };
  const answer = (await createEntityFunction(entity as EntityHandler<unknown>)(trigger, context)) as {
    entityExists: boolean;
    entityState?: string;
    results: EntityOperationResult[];
  };
  return {
    state: answer.entityExists && answer.entityState ? (JSON.parse(answer.entityState) as T) : undefined,
    results: answer.results,
  };
}
