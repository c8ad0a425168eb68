// One orchestration episode, as the Durable extension runs it: a new event joins the history, the
// orchestrator replays the whole history through durable-functions' own replay engine, and the
// actions it has not yet taken are carried out (tasks scheduled, timers set, entities called).
//
// The replay engine numbers tasks itself, in the order it meets them (a sequence number per
// scheduled task, timer, entity call or signal, and per retry timer and retry attempt). The episode
// mirrors that numbering in `nextEventId`; to keep the two in step an episode applies exactly one
// new event, so ids taken by a retry (on a failure or a retry timer) always precede the ids of the
// actions that the same episode produces.
import { createHash, randomUUID } from "node:crypto";
import { EventType, historyEvents, type HistoryEvent } from "./historyEvents.js";
import type { Outgoing } from "./durableMessages.js";
import {
  terminalStatuses,
  type InstanceRecord,
  type RetryChain,
  type RetryOptions,
} from "./orchestrationInstance.js";

/** The orchestrator's answer, as durable-functions' OrchestratorState serialises it. */
export interface OrchestratorState {
  isDone: boolean;
  actions: OrchestratorAction[][];
  output?: unknown;
  error?: string;
  customStatus?: unknown;
}

export interface OrchestratorAction {
  actionType: number;
  functionName?: string;
  input?: unknown;
  retryOptions?: RetryOptions;
  fireAt?: string;
  externalEventName?: string;
  instanceId?: string;
  operation?: string;
  compoundActions?: OrchestratorAction[];
}

export type ReplayResult = { state: OrchestratorState } | { error: string; state?: OrchestratorState };

/** Runs the orchestrator over the history (the caller invokes the orchestrationTrigger function). */
export type Replay = (record: InstanceRecord, history: HistoryEvent[]) => Promise<ReplayResult>;

const ActionType = {
  CallActivity: 0,
  CallActivityWithRetry: 1,
  CallSubOrchestrator: 2,
  CallSubOrchestratorWithRetry: 3,
  ContinueAsNew: 4,
  CreateTimer: 5,
  WaitForExternalEvent: 6,
  CallEntity: 7,
  CallHttp: 8,
  SignalEntity: 9,
  WhenAny: 11,
  WhenAll: 12,
  LockEntities: 13,
  ReleaseEntities: 14,
} as const;

const unsupportedActions: Record<number, string> = {
  [ActionType.CallHttp]: "callHttp",
  [ActionType.LockEntities]: "lock (entity critical sections)",
  [ActionType.ReleaseEntities]: "lock (entity critical sections)",
};

export interface EpisodeResult {
  record: InstanceRecord;
  outgoing: Outgoing[];
}

function flatten(actions: OrchestratorAction[]): OrchestratorAction[] {
  return actions.flatMap((action) =>
    action.actionType === ActionType.WhenAll || action.actionType === ActionType.WhenAny
      ? flatten(action.compoundActions ?? [])
      : [action],
  );
}

/** durable-functions sends string inputs as JSON text and other inputs as values. */
function inputText(input: unknown): string | null {
  if (input === undefined || input === null) return null;
  return typeof input === "string" ? input : JSON.stringify(input);
}

/** Delay before retry number `failedAttempts` (1 = first retry), as DurableTask's RetryOptions computes it. */
export function retryDelayMs(options: RetryOptions, failedAttempts: number): number {
  const coefficient = options.backoffCoefficient ?? 1;
  const delay = options.firstRetryIntervalInMilliseconds * Math.pow(coefficient, failedAttempts - 1);
  const cap = options.maxRetryIntervalInMilliseconds;
  return cap !== undefined && cap > 0 ? Math.min(delay, cap) : delay;
}

/** Entity request ids follow from the scheduling event, so a re-run episode re-sends the same request. */
function requestIdFor(instanceId: string, executionId: string, eventId: number): string {
  const hex = createHash("sha256").update(`${instanceId}\n${executionId}\n${eventId}`).digest("hex");
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20, 32)}`;
}

function isEntityResponse(record: InstanceRecord, name: string): boolean {
  return record.history.some(
    (e) =>
      e.EventType === EventType.EventSent && (JSON.parse(e.Input ?? "{}") as { id?: string }).id === name,
  );
}

function isDuplicate(record: InstanceRecord, event: HistoryEvent): boolean {
  if (event.MessageId && record.history.some((e) => e.MessageId === event.MessageId)) return true;
  if (event.EventType === EventType.EventRaised && isEntityResponse(record, event.Name ?? "")) {
    return record.history.some((e) => e.EventType === EventType.EventRaised && e.Name === event.Name);
  }
  if (event.EventType === EventType.ExecutionStarted) {
    return record.history.some((e) => e.EventType === EventType.ExecutionStarted);
  }
  const answers = (e: HistoryEvent) =>
    (event.TaskScheduledId !== undefined && e.TaskScheduledId === event.TaskScheduledId) ||
    (event.TimerId !== undefined && e.TimerId === event.TimerId);
  return (event.TaskScheduledId !== undefined || event.TimerId !== undefined) && record.history.some(answers);
}

class Episode {
  readonly record: InstanceRecord;
  readonly outgoing: Outgoing[] = [];
  readonly #scheduled: HistoryEvent[] = [];

  constructor(record: InstanceRecord) {
    this.record = structuredClone(record);
  }

  #nextId(): number {
    return this.record.nextEventId++;
  }

  #scheduleTask(chain: Omit<RetryChain, "options" | "failedAttempts">, taskId: number): void {
    const { record } = this;
    if (chain.kind === "activity") {
      this.#scheduled.push(historyEvents.taskScheduled(taskId, chain.name, chain.input));
      this.outgoing.push({
        queue: "workitems",
        body: {
          instanceId: record.instanceId,
          executionId: record.executionId,
          taskId,
          name: chain.name,
          input: chain.input,
        },
      });
      return;
    }
    const instanceId = chain.instanceId ?? `${record.instanceId}:${taskId}`;
    this.#scheduled.push(historyEvents.subOrchestrationCreated(taskId, chain.name, instanceId, chain.input));
    this.outgoing.push({
      queue: "start",
      body: {
        name: chain.name,
        instanceId,
        input: chain.input,
        parent: { instanceId: record.instanceId, executionId: record.executionId, taskId },
      },
    });
  }

  #setTimer(timerId: number, fireAt: Date): void {
    const { record } = this;
    const fireAtText = fireAt.toISOString();
    this.#scheduled.push(historyEvents.timerCreated(timerId, fireAtText));
    this.outgoing.push({
      queue: "control",
      body: {
        instanceId: record.instanceId,
        executionId: record.executionId,
        event: historyEvents.timerFired(timerId, fireAtText),
      },
      delaySeconds: (fireAt.getTime() - Date.now()) / 1000,
    });
  }

  /** A failed attempt of a retried task waits for a retry timer; a fired retry timer runs the next attempt. */
  applyRetries(event: HistoryEvent): void {
    const retries = this.record.retries;
    const failed =
      event.EventType === EventType.TaskFailed ||
      event.EventType === EventType.SubOrchestrationInstanceFailed;
    if (failed && retries[String(event.TaskScheduledId)]) {
      const chain = retries[String(event.TaskScheduledId)]!;
      delete retries[String(event.TaskScheduledId)];
      chain.failedAttempts++;
      const timerId = this.#nextId();
      const delay =
        chain.failedAttempts < chain.options.maxNumberOfAttempts
          ? retryDelayMs(chain.options, chain.failedAttempts)
          : 0;
      this.#setTimer(timerId, new Date(Date.now() + delay));
      retries[String(timerId)] = chain;
    } else if (event.EventType === EventType.TimerFired && retries[String(event.TimerId)]) {
      const chain = retries[String(event.TimerId)]!;
      delete retries[String(event.TimerId)];
      if (chain.failedAttempts < chain.options.maxNumberOfAttempts) {
        const attemptId = this.#nextId();
        this.#scheduleTask(chain, attemptId);
        retries[String(attemptId)] = chain;
      }
    }
  }

  /** Carries out the actions the orchestrator took since the last episode; returns an error for an unsupported one. */
  takeActions(state: OrchestratorState): { continueAsNew?: OrchestratorAction; unsupported?: string } {
    const { record } = this;
    const all = flatten(state.actions.flat());
    const fresh = all.slice(record.handledActions);
    record.handledActions = all.length;
    let continueAsNew: OrchestratorAction | undefined;
    for (const action of fresh) {
      const unsupported = unsupportedActions[action.actionType];
      if (unsupported) return { unsupported: `${unsupported} is not supported by the local host` };
      switch (action.actionType) {
        case ActionType.CallActivity:
        case ActionType.CallActivityWithRetry:
        case ActionType.CallSubOrchestrator:
        case ActionType.CallSubOrchestratorWithRetry: {
          const taskId = this.#nextId();
          const activity = action.actionType <= ActionType.CallActivityWithRetry;
          const chain = {
            kind: activity ? ("activity" as const) : ("subOrchestration" as const),
            name: action.functionName ?? "",
            // Activity inputs come as JSON text for strings; sub-orchestration inputs as plain values.
            input: activity
              ? inputText(action.input)
              : action.input === undefined
                ? null
                : JSON.stringify(action.input),
            ...(action.instanceId ? { instanceId: action.instanceId } : {}),
          };
          this.#scheduleTask(chain, taskId);
          if (action.retryOptions)
            record.retries[String(taskId)] = { ...chain, options: action.retryOptions, failedAttempts: 0 };
          break;
        }
        case ActionType.CreateTimer:
          this.#setTimer(this.#nextId(), new Date(action.fireAt ?? Date.now()));
          break;
        case ActionType.CallEntity:
        case ActionType.SignalEntity: {
          const eventId = this.#nextId();
          const requestId = requestIdFor(record.instanceId, record.executionId, eventId);
          const signal = action.actionType === ActionType.SignalEntity;
          const input = action.input === undefined ? null : JSON.stringify(action.input);
          const entity = action.instanceId ?? "";
          const request = { id: requestId, op: action.operation, signal, input, parent: record.instanceId };
          this.#scheduled.push(historyEvents.eventSent(eventId, entity, "op", JSON.stringify(request)));
          this.outgoing.push({
            queue: "entities",
            body: {
              entity,
              operation: action.operation ?? "",
              input,
              requestId,
              signal,
              ...(signal
                ? {}
                : { parent: { instanceId: record.instanceId, executionId: record.executionId } }),
            },
          });
          break;
        }
        case ActionType.ContinueAsNew:
          continueAsNew = action;
          break;
        case ActionType.WaitForExternalEvent:
          break;
      }
    }
    return continueAsNew ? { continueAsNew } : {};
  }

  finish(history: HistoryEvent[], closing: HistoryEvent[]): void {
    this.record.history = [...history, ...this.#scheduled, historyEvents.orchestratorCompleted(), ...closing];
    this.record.lastUpdatedTime = new Date().toISOString();
  }

  notifyParent(event: HistoryEvent): void {
    const parent = this.record.parent;
    if (!parent) return;
    this.outgoing.push({
      queue: "control",
      body: { instanceId: parent.instanceId, executionId: parent.executionId, event },
    });
  }
}

export async function runEpisode(
  record: InstanceRecord,
  event: HistoryEvent,
  replay: Replay,
): Promise<EpisodeResult | undefined> {
  if (terminalStatuses.has(record.runtimeStatus) || isDuplicate(record, event)) return undefined;
  const episode = new Episode(record);
  const current = episode.record;
  episode.applyRetries(event);
  const history = [
    ...current.history.map((e) => ({ ...e, IsPlayed: true })),
    historyEvents.orchestratorStarted(),
    event,
  ];
  current.runtimeStatus = "Running";
  const result = await replay(current, history);
  if (result.state?.customStatus !== undefined)
    current.customStatus = JSON.stringify(result.state.customStatus);

  const fail = (message: string) => {
    const output = `Orchestrator function '${current.name}' failed: ${message}`;
    current.runtimeStatus = "Failed";
    current.output = JSON.stringify(output);
    episode.finish(history, [historyEvents.executionCompleted("Failed", current.output)]);
    const parent = current.parent;
    if (parent) episode.notifyParent(historyEvents.subOrchestrationFailed(parent.taskId, output, ""));
    return { record: current, outgoing: episode.outgoing };
  };

  if ("error" in result) return fail(result.error);
  const { state } = result;
  const taken = episode.takeActions(state);
  if (taken.unsupported) return fail(taken.unsupported);

  if (taken.continueAsNew) {
    const input = inputText(taken.continueAsNew.input);
    const executionId = randomUUID();
    Object.assign(current, {
      executionId,
      input,
      history: [],
      nextEventId: 0,
      handledActions: 0,
      retries: {},
    });
    current.lastUpdatedTime = new Date().toISOString();
    const started = historyEvents.executionStarted({
      name: current.name,
      input,
      instanceId: current.instanceId,
      executionId,
    });
    // Drop what the old execution scheduled: its answers would carry the old execution id anyway.
    const outgoing = episode.outgoing.filter((o) => o.queue === "entities" && o.body.signal);
    outgoing.push({
      queue: "control",
      body: { instanceId: current.instanceId, executionId, event: started },
    });
    return { record: current, outgoing };
  }
  if (state.isDone) {
    current.runtimeStatus = "Completed";
    current.output = JSON.stringify(state.output ?? null);
    episode.finish(history, [historyEvents.executionCompleted("Completed", current.output)]);
    const parent = current.parent;
    if (parent) episode.notifyParent(historyEvents.subOrchestrationCompleted(parent.taskId, current.output));
    return { record: current, outgoing: episode.outgoing };
  }
  episode.finish(history, []);
  return { record: current, outgoing: episode.outgoing };
}
