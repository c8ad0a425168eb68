// Runs entity operations: the entity's stored state and the operation go to the app's
// entityTrigger function (durable-functions' Entity handler), the new state is stored, the result
// answers the calling orchestration, and signals the entity sent are queued. Operations of one
// entity are serialised by the queue pump; a redelivered operation is recognised by its request id.
import { fromTypedData, jsonData } from "../invokeFunction.js";
import type { HostInvoker } from "../hostInvoker.js";
import { historyEvents } from "./historyEvents.js";
import { entitySchedulerId, parseSchedulerId, type EntityMessage, type Outgoing } from "./durableMessages.js";
import { ConcurrencyConflict, type TaskHubStorage } from "./taskHubStorage.js";

export interface EntityRecord {
  exists: boolean;
  /** JSON text of the state. */
  state: string | null;
  /** Recently applied request ids with the answer sent, to apply a redelivered operation once. */
  recent: { requestId: string; response: Outgoing | null }[];
}

interface OperationResult {
  isError: boolean;
  result?: string;
}

interface EntityState {
  entityExists: boolean;
  entityState?: string;
  results: OperationResult[];
  signals: { target: { name: string; key: string }; name: string; input?: string }[];
}

const recentLimit = 100;
const maxConflictRetries = 10;

export class EntityExecutor {
  readonly #storage: TaskHubStorage;
  readonly #invoker: HostInvoker;
  readonly #send: (outgoing: Outgoing) => Promise<void>;

  constructor(storage: TaskHubStorage, invoker: HostInvoker, send: (outgoing: Outgoing) => Promise<void>) {
    this.#storage = storage;
    this.#invoker = invoker;
    this.#send = send;
  }

  async readState(name: string, key: string): Promise<{ exists: boolean; state: unknown }> {
    const stored = await this.#storage.read<EntityRecord>("entities", entitySchedulerId(name, key));
    if (!stored?.value.exists) return { exists: false, state: undefined };
    return { exists: true, state: stored.value.state === null ? null : JSON.parse(stored.value.state) };
  }

  async apply(message: EntityMessage): Promise<void> {
    for (let attempt = 0; attempt < maxConflictRetries; attempt++) {
      try {
        return await this.#applyOnce(message);
      } catch (error) {
        if (!(error instanceof ConcurrencyConflict)) throw error;
      }
    }
    throw new Error(`entity ${message.entity}: state kept changing concurrently`);
  }

  async #applyOnce(message: EntityMessage): Promise<void> {
    const stored = await this.#storage.read<EntityRecord>("entities", message.entity);
    const record: EntityRecord = stored?.value ?? { exists: false, state: null, recent: [] };
    const seen = record.recent.find((r) => r.requestId === message.requestId);
    if (seen) {
      if (seen.response) await this.#send(seen.response);
      return;
    }
    const { state, error } = await this.#run(message, record);
    const response = message.parent ? this.#response(message, state?.results[0], error) : null;
    const next: EntityRecord = {
      exists: state ? state.entityExists : record.exists,
      state: state ? (state.entityExists ? (state.entityState ?? null) : null) : record.state,
      recent: [...record.recent, { requestId: message.requestId, response }].slice(-recentLimit),
    };
    await this.#storage.write("entities", message.entity, next, stored?.etag);
    for (const signal of state?.signals ?? []) {
      await this.#send({
        queue: "entities",
        body: {
          entity: entitySchedulerId(signal.target.name, signal.target.key),
          operation: signal.name,
          input: signal.input ? signal.input : null,
          requestId: `${message.requestId}:${signal.target.name}:${signal.name}`,
          signal: true,
        },
      });
    }
    if (response) await this.#send(response);
  }

  async #run(message: EntityMessage, record: EntityRecord): Promise<{ state?: EntityState; error?: string }> {
    const self = parseSchedulerId(message.entity);
    const function_ = this.#invoker
      .withTrigger("entityTrigger")
      .find((f) => f.registration.metadata.name.toLowerCase() === self.name);
    if (!function_) return { error: `entity function '${self.name}' does not exist` };
    const binding = {
      self,
      exists: record.exists,
      state: record.state ?? undefined,
      batch: [
        {
          name: message.operation,
          input: message.input ?? undefined,
          id: message.requestId,
          isSignal: message.signal,
        },
      ],
    };
    try {
      const response = await this.#invoker.invoke(
        function_.registration,
        function_.triggerName,
        jsonData(binding),
      );
      return { state: fromTypedData(response.returnValue) as EntityState };
    } catch (error) {
      return { error: (error as Error).message };
    }
  }

  #response(
    message: EntityMessage,
    result: OperationResult | undefined,
    error: string | undefined,
  ): Outgoing {
    const parent = message.parent!;
    const payload =
      error !== undefined
        ? { result: JSON.stringify(error), exceptionType: "Error" }
        : { result: result?.result, exceptionType: result?.isError ? "Error" : undefined };
    return {
      queue: "control",
      body: {
        instanceId: parent.instanceId,
        executionId: parent.executionId,
        event: historyEvents.eventRaised(message.requestId, JSON.stringify(payload)),
      },
    };
  }
}
