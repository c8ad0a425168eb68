// A small Durable extension for the local host: instances and entities persist in Azure Storage
// (Azurite), work flows through its queues, orchestrators replay through durable-functions' own
// engine, activities and entities are the app's functions. A host restarted on the same storage
// resumes from the stored history; completed activities are not run again.
import { randomUUID } from "node:crypto";
import type { Logger } from "pino";
import { fromTypedData, jsonData } from "../invokeFunction.js";
import type { HostInvoker } from "../hostInvoker.js";
import { EntityExecutor, recentLimit } from "./entityExecutor.js";
import { EventType, historyEvents } from "./historyEvents.js";
import type {
  ActivityMessage,
  ControlMessage,
  EntityMessage,
  Outgoing,
  StartRequest,
} from "./durableMessages.js";
import { runEpisode, type OrchestratorState, type ReplayResult } from "./orchestrationEpisode.js";
import {
  newInstanceRecord,
  statusOf,
  terminalStatuses,
  type InstanceRecord,
  type OrchestrationStatus,
  type RuntimeStatus,
} from "./orchestrationInstance.js";
import { QueuePump } from "./queuePump.js";
import { ConcurrencyConflict, type ReceivedMessage, type TaskHubStorage } from "./taskHubStorage.js";

/** durable-functions' replay schema V3: flat action lists with compound tasks, long timers. */
const upperSchemaVersion = 2;
const outOfProcDataLabel = "\n\n$OutOfProcData$:";
const maxConflictRetries = 10;

export type StartOutcome =
  { started: true } | { started: false; reason: "unknownFunction" | "alreadyRunning" };

export interface StatusQuery {
  runtimeStatus?: RuntimeStatus[];
  createdTimeFrom?: Date;
  createdTimeTo?: Date;
}

export class DurableExtension {
  readonly taskHubName: string;
  readonly entities: EntityExecutor;
  readonly #storage: TaskHubStorage;
  readonly #invoker: HostInvoker;
  readonly #logger: Logger;
  readonly #pumps: { start(): void; stop(): Promise<void> }[];

  constructor(options: {
    storage: TaskHubStorage;
    invoker: HostInvoker;
    taskHubName: string;
    logger: Logger;
  }) {
    this.taskHubName = options.taskHubName;
    this.#storage = options.storage;
    this.#invoker = options.invoker;
    this.#logger = options.logger.child({ component: "durable" });
    this.entities = new EntityExecutor(this.#storage, this.#invoker, (outgoing) => this.#send(outgoing));
    this.#pumps = [
      new QueuePump<ControlMessage>(
        this.#storage,
        {
          queue: "control",
          maxInFlight: 16,
          visibilitySeconds: 60,
          keyOf: (body) => body.instanceId,
          handle: (message) => this.#onControl(message),
        },
        this.#logger,
      ),
      new QueuePump<ActivityMessage>(
        this.#storage,
        {
          queue: "workitems",
          maxInFlight: 8,
          visibilitySeconds: 300,
          keyOf: (body) => `${body.instanceId}#${body.taskId}`,
          handle: (message) => this.#onActivity(message.body),
        },
        this.#logger,
      ),
      new QueuePump<EntityMessage>(
        this.#storage,
        {
          queue: "entities",
          // room for batches (an entity's waiting operations are applied together), each no larger
          // than the request ids an entity remembers
          maxInFlight: recentLimit,
          visibilitySeconds: 60,
          keyOf: (body) => body.entity,
          batch: (messages) => this.entities.applyBatch(messages.map((message) => message.body)),
        },
        this.#logger,
      ),
    ];
  }

  async start(): Promise<void> {
    await this.#storage.createIfMissing();
    await this.#recoverUnstarted();
    for (const pump of this.#pumps) pump.start();
  }

  async stop(): Promise<void> {
    await Promise.all(this.#pumps.map((pump) => pump.stop()));
  }

  /** Instances saved as Pending whose start message was lost (the host stopped in between). */
  async #recoverUnstarted(): Promise<void> {
    for await (const { value } of this.#storage.list<InstanceRecord>("instances")) {
      if (value.runtimeStatus === "Pending" && value.history.length === 0) await this.#sendStarted(value);
    }
  }

  async #sendStarted(record: InstanceRecord): Promise<void> {
    const event = historyEvents.executionStarted({
      name: record.name,
      input: record.input,
      instanceId: record.instanceId,
      executionId: record.executionId,
    });
    await this.#storage.send("control", {
      instanceId: record.instanceId,
      executionId: record.executionId,
      event,
    });
  }

  async #send(outgoing: Outgoing): Promise<void> {
    if (outgoing.queue === "start") {
      const outcome = await this.startInstance(outgoing.body);
      if (!outcome.started) await this.#refuseSubOrchestration(outgoing.body, outcome.reason);
      return;
    }
    const delay = outgoing.queue === "control" ? (outgoing.delaySeconds ?? 0) : 0;
    await this.#storage.send(outgoing.queue, outgoing.body, delay);
  }

  async #refuseSubOrchestration(request: StartRequest, reason: string): Promise<void> {
    const { parent } = request;
    const message =
      reason === "unknownFunction"
        ? `orchestrator function '${request.name}' does not exist`
        : `an instance with id '${request.instanceId}' is already running`;
    const event = historyEvents.subOrchestrationFailed(parent.taskId, message, "");
    await this.#storage.send("control", {
      instanceId: parent.instanceId,
      executionId: parent.executionId,
      event,
    });
  }

  isOrchestrator(name: string): boolean {
    return this.#invoker
      .withTrigger("orchestrationTrigger")
      .some((f) => f.registration.metadata.name.toLowerCase() === name.toLowerCase());
  }

  async startInstance(
    request: Omit<StartRequest, "parent"> & { parent?: StartRequest["parent"] },
  ): Promise<StartOutcome> {
    if (!this.isOrchestrator(request.name)) return { started: false, reason: "unknownFunction" };
    const existing = await this.#storage.read<InstanceRecord>("instances", request.instanceId);
    if (existing && !terminalStatuses.has(existing.value.runtimeStatus)) {
      const sameParent =
        request.parent !== undefined &&
        existing.value.parent?.instanceId === request.parent.instanceId &&
        existing.value.parent.taskId === request.parent.taskId;
      return sameParent ? { started: true } : { started: false, reason: "alreadyRunning" };
    }
    const record = newInstanceRecord({ ...request, executionId: randomUUID() });
    await this.#storage.write("instances", record.instanceId, record, existing?.etag);
    await this.#sendStarted(record);
    this.#logger.info({ instanceId: record.instanceId, orchestrator: record.name }, "orchestration started");
    return { started: true };
  }

  /** False when no such instance exists. */
  async raiseEvent(
    instanceId: string,
    name: string,
    input: string | null,
  ): Promise<"sent" | "notFound" | "ended"> {
    const stored = await this.#storage.read<InstanceRecord>("instances", instanceId);
    if (!stored) return "notFound";
    if (terminalStatuses.has(stored.value.runtimeStatus)) return "ended";
    const event = historyEvents.eventRaised(name, input);
    await this.#storage.send("control", { instanceId, executionId: stored.value.executionId, event });
    return "sent";
  }

  async terminate(instanceId: string, reason: string): Promise<"sent" | "notFound" | "ended"> {
    const stored = await this.#storage.read<InstanceRecord>("instances", instanceId);
    if (!stored) return "notFound";
    if (terminalStatuses.has(stored.value.runtimeStatus)) return "ended";
    const event = historyEvents.executionTerminated(reason);
    await this.#storage.send("control", { instanceId, executionId: stored.value.executionId, event });
    return "sent";
  }

  async status(
    instanceId: string,
    options: Parameters<typeof statusOf>[1] = {},
  ): Promise<OrchestrationStatus | undefined> {
    const stored = await this.#storage.read<InstanceRecord>("instances", instanceId);
    return stored ? statusOf(stored.value, options) : undefined;
  }

  async list(query: StatusQuery, showInput: boolean): Promise<OrchestrationStatus[]> {
    const statuses: OrchestrationStatus[] = [];
    for await (const { value } of this.#storage.list<InstanceRecord>("instances")) {
      if (matches(value, query)) statuses.push(statusOf(value, { showInput }));
    }
    return statuses;
  }

  async purge(instanceId: string): Promise<boolean> {
    return this.#storage.remove("instances", instanceId);
  }

  async purgeMatching(query: StatusQuery): Promise<number> {
    let deleted = 0;
    for await (const { value } of this.#storage.list<InstanceRecord>("instances")) {
      if (terminalStatuses.has(value.runtimeStatus) && matches(value, query)) {
        if (await this.#storage.remove("instances", value.instanceId)) deleted++;
      }
    }
    return deleted;
  }

  async signalEntity(name: string, key: string, operation: string, input: string | null): Promise<void> {
    const body: EntityMessage = {
      entity: `@${name.toLowerCase()}@${key}`,
      operation,
      input,
      requestId: randomUUID(),
      signal: true,
    };
    await this.#storage.send("entities", body);
  }

  async #onControl(message: ReceivedMessage<ControlMessage>): Promise<void> {
    const { instanceId, executionId } = message.body;
    const event = { ...message.body.event, MessageId: message.messageId };
    if (
      event.EventType === EventType.TimerFired &&
      event.FireAt &&
      Date.parse(event.FireAt) > Date.now() + 1000
    ) {
      // A timer longer than a queue message may wait: wait again for the rest.
      await this.#storage.send("control", message.body, (Date.parse(event.FireAt) - Date.now()) / 1000);
      return;
    }
    for (let attempt = 0; attempt < maxConflictRetries; attempt++) {
      const stored = await this.#storage.read<InstanceRecord>("instances", instanceId);
      if (!stored || stored.value.executionId !== executionId) {
        this.#logger.debug({ instanceId, eventType: event.EventType }, "event for a gone execution dropped");
        return;
      }
      try {
        if (event.EventType === EventType.ExecutionTerminated) {
          await this.#applyTermination(stored.value, stored.etag, event);
          return;
        }
        const result = await runEpisode(stored.value, event, (record, history) =>
          this.#replay(record, history),
        );
        if (!result) return;
        // Sent before the record is saved: if the host stops in between, the episode runs again
        // from the saved history and sends the same messages, which their receivers deduplicate.
        await Promise.all(result.outgoing.map((outgoing) => this.#send(outgoing)));
        await this.#storage.write("instances", instanceId, result.record, stored.etag);
        if (terminalStatuses.has(result.record.runtimeStatus)) {
          this.#logger.info(
            { instanceId, runtimeStatus: result.record.runtimeStatus },
            "orchestration ended",
          );
        }
        return;
      } catch (error) {
        if (!(error instanceof ConcurrencyConflict)) throw error;
      }
    }
    throw new Error(`instance ${instanceId}: record kept changing concurrently`);
  }

  async #applyTermination(
    record: InstanceRecord,
    etag: string,
    event: ControlMessage["event"],
  ): Promise<void> {
    if (terminalStatuses.has(record.runtimeStatus)) return;
    const reason = event.Input ?? JSON.stringify("");
    const terminated: InstanceRecord = {
      ...record,
      runtimeStatus: "Terminated",
      output: reason,
      history: [...record.history, event],
      lastUpdatedTime: new Date().toISOString(),
    };
    if (record.parent) {
      const failed = historyEvents.subOrchestrationFailed(record.parent.taskId, `terminated: ${reason}`, "");
      await this.#storage.send("control", {
        instanceId: record.parent.instanceId,
        executionId: record.parent.executionId,
        event: failed,
      });
    }
    await this.#storage.write("instances", record.instanceId, terminated, etag);
    this.#logger.info({ instanceId: record.instanceId }, "orchestration terminated");
  }

  async #replay(record: InstanceRecord, history: InstanceRecord["history"]): Promise<ReplayResult> {
    const orchestrator = this.#invoker
      .withTrigger("orchestrationTrigger")
      .find((f) => f.registration.metadata.name.toLowerCase() === record.name.toLowerCase());
    if (!orchestrator) return { error: `orchestrator function '${record.name}' does not exist` };
    const binding = {
      history,
      input: record.input === null ? undefined : (JSON.parse(record.input) as unknown),
      instanceId: record.instanceId,
      isReplaying: false,
      parentInstanceId: record.parent?.instanceId,
      upperSchemaVersion,
      maximumShortTimerDuration: "6.00:00:00",
      longRunningTimerIntervalDuration: "3.00:00:00",
      defaultHttpAsyncRequestSleepTimeMillseconds: 30_000,
    };
    try {
      const response = await this.#invoker.invoke(
        orchestrator.registration,
        orchestrator.triggerName,
        jsonData(binding),
      );
      return { state: fromTypedData(response.returnValue) as OrchestratorState };
    } catch (error) {
      const text = error instanceof Error ? error.message : String(error);
      const at = text.indexOf(outOfProcDataLabel);
      if (at < 0) return { error: text };
      const state = JSON.parse(text.slice(at + outOfProcDataLabel.length)) as OrchestratorState;
      // durable-functions puts the orchestrator's own error in the state (the message before the label is not it).
      return { error: state.error ?? text.slice(0, at), state };
    }
  }

  async #onActivity(message: ActivityMessage): Promise<void> {
    const { instanceId, executionId, taskId, name } = message;
    const activity = this.#invoker
      .withTrigger("activityTrigger")
      .find((f) => f.registration.metadata.name.toLowerCase() === name.toLowerCase());
    let event;
    if (!activity) {
      event = historyEvents.taskFailed(taskId, `activity function '${name}' does not exist`, "");
    } else {
      try {
        const data = message.input === null ? jsonData(null) : { json: message.input };
        const response = await this.#invoker.invoke(activity.registration, activity.triggerName, data);
        const result = fromTypedData(response.returnValue);
        event = historyEvents.taskCompleted(taskId, result === undefined ? null : JSON.stringify(result));
      } catch (error) {
        const failure = error instanceof Error ? error : new Error(String(error));
        event = historyEvents.taskFailed(taskId, failure.message, failure.stack ?? "");
      }
    }
    await this.#storage.send("control", { instanceId, executionId, event });
  }
}

function matches(record: InstanceRecord, query: StatusQuery): boolean {
  const created = Date.parse(record.createdTime);
  if (
    query.runtimeStatus &&
    query.runtimeStatus.length > 0 &&
    !query.runtimeStatus.includes(record.runtimeStatus)
  ) {
    return false;
  }
  if (query.createdTimeFrom && created < query.createdTimeFrom.getTime()) return false;
  if (query.createdTimeTo && created > query.createdTimeTo.getTime()) return false;
  return true;
}
