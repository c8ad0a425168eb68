// Runs entity operations: the entity's stored state and a batch of its queued operations go to the
// app's entityTrigger function (durable-functions' Entity handler), the new state is stored, each
// result answers its calling orchestration, and signals the entity sent are queued. Operations of
// one entity are serialised by the queue pump; a redelivered operation is recognised by its request id.
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

/** Request ids remembered per entity; a batch holds no more operations than this. */
export const recentLimit = 100;
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

  /**
   * Applies operations queued for one entity in one batch, as the Durable extension does: one state
   * read, one invocation of the entity function with every operation, one state write. Otherwise the
   * operations of a busy entity (the scheduler every pod asks) each cost a read and a write, and an
   * operation that arrives later waits behind all of them.
   */
  async applyBatch(messages: readonly EntityMessage[]): Promise<void> {
    for (let attempt = 0; attempt < maxConflictRetries; attempt++) {
      try {
        return await this.#applyOnce(messages);
      } catch (error) {
        if (!(error instanceof ConcurrencyConflict)) throw error;
      }
    }
    throw new Error(`entity ${messages[0]?.entity}: state kept changing concurrently`);
  }

  async #applyOnce(messages: readonly EntityMessage[]): Promise<void> {
    const entity = messages[0]?.entity;
    if (entity === undefined) return;
    if (messages.some((m) => m.entity !== entity)) throw new Error("a batch holds one entity's operations");
    const stored = await this.#storage.read<EntityRecord>("entities", entity);
    const record: EntityRecord = stored?.value ?? { exists: false, state: null, recent: [] };
    // A redelivered operation is answered again, not applied again (also twice in one batch).
    const repeated: Outgoing[] = [];
    const fresh: EntityMessage[] = [];
    for (const message of messages) {
      const seen = record.recent.find((r) => r.requestId === message.requestId);
      if (seen?.response) repeated.push(seen.response);
      if (!seen && !fresh.some((m) => m.requestId === message.requestId)) fresh.push(message);
    }
    if (fresh.length === 0) {
      await Promise.all(repeated.map((response) => this.#send(response)));
      return;
    }
    const { state, error } = await this.#run(entity, fresh, record);
    const applied = fresh.map((message, index) => ({
      requestId: message.requestId,
      response: message.parent ? this.#response(message, state?.results[index], error) : null,
    }));
    const next: EntityRecord = {
      exists: state ? state.entityExists : record.exists,
      state: state ? (state.entityExists ? (state.entityState ?? null) : null) : record.state,
      recent: [...record.recent, ...applied].slice(-recentLimit),
    };
    await this.#storage.write("entities", entity, next, stored?.etag);
    for (const [index, signal] of (state?.signals ?? []).entries()) {
      await this.#send({
        queue: "entities",
        body: {
          entity: entitySchedulerId(signal.target.name, signal.target.key),
          operation: signal.name,
          input: signal.input ? signal.input : null,
          requestId: `${fresh[0]!.requestId}:${index}:${signal.target.name}:${signal.name}`,
          signal: true,
        },
      });
    }
    const responses = applied.flatMap((a) => (a.response ? [a.response] : []));
    await Promise.all([...repeated, ...responses].map((response) => this.#send(response)));
  }

  async #run(
    entity: string,
    messages: readonly EntityMessage[],
    record: EntityRecord,
  ): Promise<{ state?: EntityState; error?: string }> {
    const self = parseSchedulerId(entity);
    const function_ = this.#invoker
      .withTrigger("entityTrigger")
      .find((f) => f.registration.metadata.name.toLowerCase() === self.name);
    if (!function_) return { error: `entity function '${self.name}' does not exist` };
    const binding = {
      self,
      exists: record.exists,
      state: record.state ?? undefined,
      batch: messages.map((message) => ({
        name: message.operation,
        input: message.input ?? undefined,
        id: message.requestId,
        isSignal: message.signal,
      })),
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
