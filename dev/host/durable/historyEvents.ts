// Durable Task history events, in the JSON shape the Durable extension passes to out-of-process
// orchestrators (PascalCase fields, `EventType` numbers of DurableTask.Core's EventType enum).
// Payloads (Input, Result) are JSON text, as in DurableTask.Core.

export const EventType = {
  ExecutionStarted: 0,
  ExecutionCompleted: 1,
  ExecutionTerminated: 3,
  TaskScheduled: 4,
  TaskCompleted: 5,
  TaskFailed: 6,
  SubOrchestrationInstanceCreated: 7,
  SubOrchestrationInstanceCompleted: 8,
  SubOrchestrationInstanceFailed: 9,
  TimerCreated: 10,
  TimerFired: 11,
  OrchestratorStarted: 12,
  OrchestratorCompleted: 13,
  EventSent: 14,
  EventRaised: 15,
} as const;

export interface HistoryEvent {
  EventType: number;
  EventId: number;
  IsPlayed: boolean;
  Timestamp: string;
  Name?: string;
  Version?: string;
  Input?: string | null;
  Result?: string | null;
  TaskScheduledId?: number;
  TimerId?: number;
  FireAt?: string;
  InstanceId?: string;
  Reason?: string;
  Details?: string;
  OrchestrationStatus?: string;
  OrchestrationInstance?: { InstanceId: string; ExecutionId: string };
  ParentInstance?: {
    OrchestrationInstance: { InstanceId: string; ExecutionId: string };
    TaskScheduleId: number;
  };
  /** Id of the queue message that delivered the event, so a redelivered message is applied once. */
  MessageId?: string;
}

function event(type: number, fields: Partial<HistoryEvent> = {}, eventId = -1): HistoryEvent {
  return {
    EventType: type,
    EventId: eventId,
    IsPlayed: false,
    Timestamp: new Date().toISOString(),
    ...fields,
  };
}

export const historyEvents = {
  executionStarted: (fields: {
    name: string;
    input: string | null;
    instanceId: string;
    executionId: string;
    parent?: HistoryEvent["ParentInstance"];
  }) =>
    event(EventType.ExecutionStarted, {
      Name: fields.name,
      Version: "",
      Input: fields.input,
      OrchestrationInstance: { InstanceId: fields.instanceId, ExecutionId: fields.executionId },
      ...(fields.parent ? { ParentInstance: fields.parent } : {}),
    }),
  orchestratorStarted: () => event(EventType.OrchestratorStarted),
  orchestratorCompleted: () => event(EventType.OrchestratorCompleted),
  executionCompleted: (status: string, result: string | null) =>
    event(EventType.ExecutionCompleted, { OrchestrationStatus: status, Result: result }),
  executionTerminated: (reason: string) =>
    event(EventType.ExecutionTerminated, { Input: JSON.stringify(reason) }),
  taskScheduled: (eventId: number, name: string, input: string | null) =>
    event(EventType.TaskScheduled, { Name: name, Version: "", Input: input }, eventId),
  taskCompleted: (taskScheduledId: number, result: string | null) =>
    event(EventType.TaskCompleted, { TaskScheduledId: taskScheduledId, Result: result }),
  taskFailed: (taskScheduledId: number, reason: string, details: string) =>
    event(EventType.TaskFailed, { TaskScheduledId: taskScheduledId, Reason: reason, Details: details }),
  subOrchestrationCreated: (eventId: number, name: string, instanceId: string, input: string | null) =>
    event(
      EventType.SubOrchestrationInstanceCreated,
      { Name: name, InstanceId: instanceId, Input: input },
      eventId,
    ),
  subOrchestrationCompleted: (taskScheduledId: number, result: string | null) =>
    event(EventType.SubOrchestrationInstanceCompleted, { TaskScheduledId: taskScheduledId, Result: result }),
  subOrchestrationFailed: (taskScheduledId: number, reason: string, details: string) =>
    event(EventType.SubOrchestrationInstanceFailed, {
      TaskScheduledId: taskScheduledId,
      Reason: reason,
      Details: details,
    }),
  timerCreated: (eventId: number, fireAt: string) =>
    event(EventType.TimerCreated, { FireAt: fireAt }, eventId),
  timerFired: (timerId: number, fireAt: string) =>
    event(EventType.TimerFired, { TimerId: timerId, FireAt: fireAt }),
  eventSent: (eventId: number, instanceId: string, name: string, input: string) =>
    event(EventType.EventSent, { InstanceId: instanceId, Name: name, Input: input }, eventId),
  eventRaised: (name: string, input: string | null) =>
    event(EventType.EventRaised, { Name: name, Input: input }),
};
