// eventHub triggers fed by @azure/event-hubs' EventHubConsumerClient: the binding's `connection`
// names the app setting with the connection string, or, as the real extension reads an
// identity-based connection, `<connection>__fullyQualifiedNamespace` reached with the app's managed
// identity; checkpoints and partition ownership live in
// blob storage (container azure-webjobs-eventhub, as the real extension), so several hosts on one
// storage account share a hub's partitions the way instances of a Functions app do (load balancing
// and ownership expiry as dev/host/eventHubOptions.ts says), and the function gets what the real extension
// passes: with cardinality "many" an array of bodies and per-event metadata arrays
// (enqueuedTimeUtcArray, sequenceNumberArray, offsetArray, partitionKeyArray, propertiesArray,
// systemPropertiesArray), with "one" a body and the single-event metadata.
import {
  EventHubConsumerClient,
  earliestEventPosition,
  type EventHubConsumerClientOptions,
  type PartitionContext,
  type ReceivedEventData,
  type Subscription,
} from "@azure/event-hubs";
import { BlobCheckpointStore } from "@azure/eventhubs-checkpointstore-blob";
import type { StorageConnection } from "../../lib/storage/storageConnection.js";
import { blobService, hostCredential } from "./hostStorage.js";
import type { Logger } from "pino";
import type { Registration } from "./functionsCore.js";
import type { RpcBindingInfo, RpcTypedData } from "./functionsCoreTypes.js";
import type { HostInvoker } from "./hostInvoker.js";
import { resolveSettingReferences } from "./timerTriggers.js";
import { defaultEventHubOptions, type EventHubOptions } from "./eventHubOptions.js";

const checkpointContainer = "azure-webjobs-eventhub";
const maxWaitTimeInSeconds = 1;

/** Another host took the partition: not retryable, so the consumer client stops reading it here. */
class PartitionTaken extends Error {}

interface EventHubFunction {
  registration: Registration;
  triggerName: string;
  /** a connection string, or a namespace for the app's managed identity */
  connection: { connectionString: string } | { fullyQualifiedNamespace: string };
  eventHubName?: string;
  consumerGroup: string;
  many: boolean;
  binary: boolean;
}

function bodyText(body: unknown): string {
  if (typeof body === "string") return body;
  if (Buffer.isBuffer(body) || body instanceof Uint8Array) return Buffer.from(body).toString("utf8");
  return JSON.stringify(body);
}

function bodyBytes(body: unknown): Uint8Array {
  if (Buffer.isBuffer(body) || body instanceof Uint8Array) return body;
  return Buffer.from(bodyText(body));
}

function systemProperties(event: ReceivedEventData): Record<string, unknown> {
  return {
    ...event.systemProperties,
    "x-opt-sequence-number": event.sequenceNumber,
    "x-opt-offset": event.offset,
    "x-opt-enqueued-time": event.enqueuedTimeUtc.toISOString(),
    SequenceNumber: event.sequenceNumber,
    Offset: event.offset,
    PartitionKey: event.partitionKey ?? null,
    EnqueuedTimeUtc: event.enqueuedTimeUtc.toISOString(),
  };
}

function json(value: unknown): RpcTypedData {
  return { json: JSON.stringify(value) };
}

export function eventHubTriggerData(
  events: ReceivedEventData[],
  context: {
    consumerGroup: string;
    eventHubName: string;
    fullyQualifiedNamespace: string;
    partitionId: string;
  },
  options: { many: boolean; binary: boolean },
): { data: RpcTypedData; triggerMetadata: Record<string, RpcTypedData> } {
  const partitionContext = json({
    ConsumerGroup: context.consumerGroup,
    EventHubName: context.eventHubName,
    FullyQualifiedNamespace: context.fullyQualifiedNamespace,
    PartitionId: context.partitionId,
  });
  if (options.many) {
    return {
      data: options.binary
        ? { collectionBytes: { bytes: events.map((e) => bodyBytes(e.body)) } }
        : { collectionString: { string: events.map((e) => bodyText(e.body)) } },
      triggerMetadata: {
        PartitionContext: partitionContext,
        EnqueuedTimeUtcArray: json(events.map((e) => e.enqueuedTimeUtc.toISOString())),
        SequenceNumberArray: json(events.map((e) => e.sequenceNumber)),
        OffsetArray: json(events.map((e) => e.offset)),
        PartitionKeyArray: json(events.map((e) => e.partitionKey ?? null)),
        PropertiesArray: json(events.map((e) => e.properties ?? {})),
        SystemPropertiesArray: json(events.map(systemProperties)),
      },
    };
  }
  const [event] = events as [ReceivedEventData];
  return {
    data: options.binary ? { bytes: bodyBytes(event.body) } : { string: bodyText(event.body) },
    triggerMetadata: {
      PartitionContext: partitionContext,
      EnqueuedTimeUtc: json(event.enqueuedTimeUtc.toISOString()),
      SequenceNumber: json(event.sequenceNumber),
      Offset: json(event.offset),
      PartitionKey: json(event.partitionKey ?? null),
      Properties: json(event.properties ?? {}),
      SystemProperties: json(systemProperties(event)),
    },
  };
}

function toEventHubFunction(
  registration: Registration,
  triggerName: string,
  trigger: RpcBindingInfo,
  env: NodeJS.ProcessEnv,
): EventHubFunction {
  const name = registration.metadata.name;
  const what = `eventHub trigger "${name}"`;
  const setting = typeof trigger.connection === "string" ? trigger.connection : "";
  if (!setting) throw new Error(`${what}: "connection" must name the app setting with the connection string`);
  const connectionString = env[setting];
  const fullyQualifiedNamespace = env[`${setting}__fullyQualifiedNamespace`];
  if (!connectionString && !fullyQualifiedNamespace)
    throw new Error(
      `${what}: app setting "${setting}" (its connection) or "${setting}__fullyQualifiedNamespace" is not set`,
    );
  const eventHubName =
    typeof trigger.eventHubName === "string" && trigger.eventHubName.length > 0
      ? resolveSettingReferences(trigger.eventHubName, env, what)
      : undefined;
  const consumerGroup =
    typeof trigger.consumerGroup === "string" && trigger.consumerGroup.length > 0
      ? resolveSettingReferences(trigger.consumerGroup, env, what)
      : EventHubConsumerClient.defaultConsumerGroupName;
  return {
    registration,
    triggerName,
    connection: connectionString
      ? { connectionString }
      : { fullyQualifiedNamespace: fullyQualifiedNamespace! },
    eventHubName,
    consumerGroup,
    many: trigger.cardinality === "many",
    binary: trigger.dataType === "binary",
  };
}

function consumerClient(
  fn: EventHubFunction,
  checkpoints: BlobCheckpointStore,
  options: EventHubConsumerClientOptions,
): EventHubConsumerClient {
  if ("fullyQualifiedNamespace" in fn.connection) {
    if (!fn.eventHubName)
      throw new Error(`${fn.registration.metadata.name}: an identity-based connection needs eventHubName`);
    return new EventHubConsumerClient(
      fn.consumerGroup,
      fn.connection.fullyQualifiedNamespace,
      fn.eventHubName,
      hostCredential(),
      checkpoints,
      options,
    );
  }
  const { connectionString } = fn.connection;
  // As the real extension: an EntityPath in the connection string wins over eventHubName.
  return fn.eventHubName && !/;\s*EntityPath=/i.test(connectionString)
    ? new EventHubConsumerClient(fn.consumerGroup, connectionString, fn.eventHubName, checkpoints, options)
    : new EventHubConsumerClient(fn.consumerGroup, connectionString, checkpoints, options);
}

export class EventHubTriggers {
  readonly #functions: EventHubFunction[];
  readonly #invoker: HostInvoker;
  readonly #logger: Logger;
  readonly #options: EventHubOptions;
  readonly #running: { client: EventHubConsumerClient; subscription: Subscription }[] = [];

  constructor(
    invoker: HostInvoker,
    logger: Logger,
    options: EventHubOptions = defaultEventHubOptions,
    env: NodeJS.ProcessEnv = process.env,
  ) {
    this.#invoker = invoker;
    this.#options = options;
    this.#logger = logger.child({ component: "eventHub" });
    this.#functions = invoker
      .withTrigger("eventHubTrigger")
      .map(({ registration, triggerName, trigger }) =>
        toEventHubFunction(registration, triggerName, trigger, env),
      );
  }

  async start(storage: StorageConnection | undefined): Promise<void> {
    if (this.#functions.length === 0) return;
    if (!storage) {
      throw new Error(
        "eventHub triggers keep checkpoints in storage: set AzureWebJobsStorage (e.g. Azurite's)",
      );
    }
    const container = blobService(storage).getContainerClient(checkpointContainer);
    await container.createIfNotExists();
    for (const fn of this.#functions) {
      const checkpoints = new BlobCheckpointStore(container);
      const clientOptions = { loadBalancingOptions: this.#options.loadBalancing };
      this.#running.push(this.#subscribe(fn, consumerClient(fn, checkpoints, clientOptions), checkpoints));
    }
  }

  #subscribe(fn: EventHubFunction, client: EventHubConsumerClient, checkpoints: BlobCheckpointStore) {
    const subscription = client.subscribe(
      {
        processEvents: async (events, context) => {
          if (events.length === 0) return;
          await this.#stillOwned(fn, client, checkpoints, context.partitionId);
          await this.#process(fn, client, events, context);
        },
        processError: (error, context) => {
          const partition = { function: fn.registration.metadata.name, partitionId: context.partitionId };
          if (error instanceof PartitionTaken) this.#logger.info(partition, error.message);
          else this.#logger.warn({ ...partition, err: error }, "event hub receive error");
          return Promise.resolve();
        },
      },
      {
        maxBatchSize: this.#options.maxEventBatchSize,
        prefetchCount: this.#options.prefetchCount,
        maxWaitTimeInSeconds,
        startPosition: earliestEventPosition,
      },
    );
    return { client, subscription };
  }

  /**
   * Throws PartitionTaken (which stops this host's reading of the partition) when another host owns
   * it now. A takeover reaches the consumer client only while it waits for events: one that comes
   * while the function runs closes the receiver unseen, and the client opens it again, taking the
   * partition back, so that two hosts would read it side by side. The real extension stops reading a
   * partition taken from it: so does this host, by asking the ownership before each batch.
   */
  async #stillOwned(
    fn: EventHubFunction,
    client: EventHubConsumerClient,
    checkpoints: BlobCheckpointStore,
    partitionId: string,
  ): Promise<void> {
    const ownerships = await checkpoints.listOwnership(
      client.fullyQualifiedNamespace,
      client.eventHubName,
      fn.consumerGroup,
    );
    const owner = ownerships.find((ownership) => ownership.partitionId === partitionId)?.ownerId;
    if (owner !== client.identifier)
      throw new PartitionTaken(
        `partition ${partitionId} is read by another host now: this one stops reading it`,
      );
  }

  async #process(
    fn: EventHubFunction,
    client: EventHubConsumerClient,
    events: ReceivedEventData[],
    context: PartitionContext,
  ): Promise<void> {
    const batches = fn.many ? [events] : events.map((event) => [event]);
    for (const batch of batches) {
      const { data, triggerMetadata } = eventHubTriggerData(
        batch,
        {
          consumerGroup: fn.consumerGroup,
          eventHubName: client.eventHubName,
          fullyQualifiedNamespace: client.fullyQualifiedNamespace,
          partitionId: context.partitionId,
        },
        fn,
      );
      try {
        await this.#invoker.invokeWithRetries(fn.registration, fn.triggerName, data, { triggerMetadata });
      } catch (error) {
        // As the real extension: once the function's retry policy (if any) is spent, the
        // checkpoint moves on.
        this.#logger.error(
          { function: fn.registration.metadata.name, err: error },
          "eventHub function failed",
        );
      }
    }
    await context.updateCheckpoint(events.at(-1)!);
  }

  async stop(): Promise<void> {
    for (const { subscription, client } of this.#running.splice(0)) {
      await subscription.close();
      await client.close();
    }
  }
}
