// The simulated hub's built-in Event Hub-compatible endpoint: an AMQP 1.0 server (rhea) that the
// unmodified @azure/event-hubs client reads with "...;UseDevelopmentEmulator=true" (plain AMQP, no TLS)
// or, given a certificate, over AMQPS as a namespace (`host:port`) with a TokenCredential: the
// identity-based connection, whose CBS put-token carries a "jwt" from a trusted issuer for the Event
// Hubs audience. It serves what that client uses: CBS put-token with SAS or JWT checks, the $management READ
// requests for hub and partition properties, and partition receivers
// <hub>/ConsumerGroups/<group>/Partitions/<id> with start filters, link credit and owner levels (epochs:
// a new receiver with an owner level at least as high as the current ones disconnects them).
import { once } from "node:events";
import type { Server, Socket } from "node:net";
import rhea from "rhea";
import type { Connection, EventContext, Message, Receiver, Sender, ServerConnectionOptions } from "rhea";
import type { EventLog } from "./eventLog.js";
import { checkAccessToken } from "./bearerAuthentication.js";
import { audiencePath, checkSasToken, pathCovers, type SasCheck, type SasKey } from "./eventHubSas.js";
import type { TrustedTokenIssuer } from "./localTokenIssuer.js";
import { parseStartFilter, startSequenceNumber } from "./eventHubStartPosition.js";
import { PartitionReader } from "./eventHubPartitionReader.js";

export interface EventHubEndpointOptions {
  /** Address to bind, normally a loopback address such as 127.0.0.1. */
  host: string;
  /** TCP port; 0 picks a free one. */
  port: number;
  /** The Event Hub-compatible name (EntityPath), usually the IoT hub's name. */
  hubName: string;
  log: EventLog;
  sharedAccessKeyName: string;
  sharedAccessKey: string;
  /** Consumer groups besides $Default. */
  consumerGroups?: readonly string[];
  /** Issuers whose "jwt" tokens (Event Hubs audience) are accepted besides the SAS key. */
  tokenIssuers?: readonly TrustedTokenIssuer[];
  /** A server certificate: the endpoint also listens with TLS (AMQPS) on a port of its own. */
  tls?: { certPem: string; keyPem: string };
}

export interface EventHubEndpoint {
  readonly port: number;
  /** The AMQPS port when a certificate was given: `host:tlsPort` is the namespace for a TokenCredential. */
  readonly tlsPort?: number;
  /** Event Hubs connection string for @azure/event-hubs; it contains the key, so never log it. */
  readonly connectionString: string;
  /** Partition receivers currently attached, optionally of one consumer group (for tests and diagnostics). */
  openReceiverCount(consumerGroup?: string): number;
  stop(): Promise<void>;
}

const DEFAULT_CONSUMER_GROUP = "$Default";
const CBS_ADDRESS = "$cbs";
const MANAGEMENT_ADDRESS = "$management";
const SAS_TOKEN_TYPE = "servicebus.windows.net:sastoken";
const JWT_TOKEN_TYPE = "jwt";
/** The Event Hubs audience of Entra ID tokens (the SDK asks for `https://eventhubs.azure.net//.default`). */
const EVENT_HUBS_AUDIENCE = "https://eventhubs.azure.net";
const EPOCH_PROPERTY = "com.microsoft:epoch";
const RUNTIME_METRIC_CAPABILITY = "com.microsoft:enable-receiver-runtime-metric";
const RECEIVER_ADDRESS = /^([^/]+)\/ConsumerGroups\/([^/]+)\/Partitions\/([^/]+)$/i;
const SELECTOR_FILTER = "apache.org:selector-filter:string";

function requireOption(field: string, value: unknown): string {
  if (typeof value !== "string" || value.trim() === "") {
    throw new TypeError(`startEventHubEndpoint: ${field} must be a non-empty string`);
  }
  return value;
}

/** Reply links of one connection, found by the request's reply-to (the client's receiver name or target). */
type ReplyLinks = Map<string, Sender>;

export async function startEventHubEndpoint(options: EventHubEndpointOptions): Promise<EventHubEndpoint> {
  const host = requireOption("host", options.host);
  const hubName = requireOption("hubName", options.hubName);
  const key: SasKey = {
    keyName: requireOption("sharedAccessKeyName", options.sharedAccessKeyName),
    key: requireOption("sharedAccessKey", options.sharedAccessKey),
  };
  if (!Number.isInteger(options.port) || options.port < 0 || options.port > 65535) {
    throw new TypeError(
      `startEventHubEndpoint: port must be an integer from 0 to 65535, got ${options.port}`,
    );
  }
  const log = options.log;
  const hubPath = hubName.toLowerCase();
  const consumerGroups = new Set(
    [DEFAULT_CONSUMER_GROUP, ...(options.consumerGroups ?? [])].map((group, index) =>
      requireOption(`consumerGroups[${index - 1}]`, group).toLowerCase(),
    ),
  );
  const createdOn = new Date();

  /** Per connection: audience paths granted by put-token, with their expiry (epoch ms). */
  const grants = new WeakMap<Connection, Map<string, number>>();
  const replyLinks = new WeakMap<Connection, ReplyLinks>();
  const readers = new Map<Sender, PartitionReader>();
  const connections = new Set<Connection>();

  function isGranted(connection: Connection, resourcePath: string): boolean {
    const now = Date.now();
    for (const [path, expiresOn] of grants.get(connection) ?? []) {
      if (expiresOn > now && pathCovers(path, resourcePath)) return true;
    }
    return false;
  }

  /** A SAS token (its audience must cover the resource) or a trusted JWT (any resource of the namespace). */
  function checkToken(type: "sas" | "jwt", token: unknown): SasCheck {
    if (type === "sas") return checkSasToken(token, key);
    const check = checkAccessToken(
      String(token),
      options.tokenIssuers ?? [],
      [EVENT_HUBS_AUDIENCE],
      new Date(),
    );
    if ("refused" in check)
      return { ok: false, reason: check.refused, condition: "amqp:unauthorized-access" };
    return { ok: true, audience: "", expiresOn: check.expiresOn };
  }

  function entityNotFound(address: string) {
    return {
      condition: "amqp:not-found",
      description: `The messaging entity 'sb://${host}/${address}' could not be found.`,
    };
  }

  // ---- request/response: $cbs and $management ----------------------------------------------------

  function reply(context: EventContext, status: number, description: string, body?: unknown): void {
    const request = context.message;
    const replyTo = request?.reply_to;
    const link = replyTo === undefined ? undefined : replyLinks.get(context.connection)?.get(replyTo);
    if (!link || !request) return; // nobody to answer: the client gave no reply link
    link.send({
      correlation_id: request.message_id,
      application_properties: { "status-code": status, "status-description": description },
      body: body ?? null,
    });
  }

  function onPutToken(context: EventContext): void {
    const request = context.message as Message;
    const properties = request.application_properties ?? {};
    if (properties["operation"] !== "put-token") {
      reply(context, 400, `unsupported $cbs operation ${String(properties["operation"])}`);
      return;
    }
    const type =
      properties["type"] === SAS_TOKEN_TYPE
        ? "sas"
        : properties["type"] === JWT_TOKEN_TYPE
          ? "jwt"
          : undefined;
    if (type === undefined) {
      reply(
        context,
        401,
        `unsupported token type ${String(properties["type"])}: use a shared access signature or a jwt`,
      );
      return;
    }
    const claimed: unknown = properties["name"];
    const check = checkToken(type, request.body);
    if (!check.ok) {
      reply(context, 401, `Unauthorized: ${check.reason}.`);
      return;
    }
    if (typeof claimed !== "string" || !pathCovers(audiencePath(check.audience), audiencePath(claimed))) {
      reply(context, 401, "Unauthorized: the token's audience does not cover the requested resource.");
      return;
    }
    let connectionGrants = grants.get(context.connection);
    if (!connectionGrants) grants.set(context.connection, (connectionGrants = new Map<string, number>()));
    connectionGrants.set(audiencePath(claimed), check.expiresOn.getTime());
    reply(context, 202, "Accepted");
  }

  function onManagementRequest(context: EventContext): void {
    const request = context.message as Message;
    const properties = request.application_properties ?? {};
    const token: unknown = properties["security_token"];
    const isSas = typeof token === "string" && token.startsWith("SharedAccessSignature ");
    const check = checkToken(isSas ? "sas" : "jwt", token);
    if (!check.ok) {
      reply(context, 401, `Unauthorized: ${check.reason}.`);
      return;
    }
    if (!pathCovers(audiencePath(check.audience), hubPath)) {
      reply(context, 401, "Unauthorized: the token's audience does not cover this event hub.");
      return;
    }
    if (properties["operation"] !== "READ") {
      reply(context, 400, `unsupported $management operation ${String(properties["operation"])}`);
      return;
    }
    if (String(properties["name"]).toLowerCase() !== hubPath) {
      reply(context, 404, entityNotFound(String(properties["name"])).description);
      return;
    }
    if (properties["type"] === "com.microsoft:eventhub") {
      reply(context, 200, "OK", {
        name: hubName,
        type: "com.microsoft:eventhub",
        created_at: createdOn,
        partition_count: log.partitionIds.length,
        partition_ids: [...log.partitionIds],
      });
      return;
    }
    if (properties["type"] === "com.microsoft:partition") {
      const partitionId = String(properties["partition"]);
      if (!log.partitionIds.includes(partitionId)) {
        reply(
          context,
          400,
          `partition "${partitionId}" does not exist: partitions are ${log.partitionIds.join(", ")}`,
        );
        return;
      }
      const info = log.partitionInfo(partitionId);
      reply(context, 200, "OK", {
        name: hubName,
        type: "com.microsoft:partition",
        partition: partitionId,
        begin_sequence_number: rhea.types.wrap_long(info.beginningSequenceNumber),
        last_enqueued_sequence_number: rhea.types.wrap_long(info.lastEnqueuedSequenceNumber),
        last_enqueued_offset: info.lastEnqueuedOffset,
        last_enqueued_time_utc: info.lastEnqueuedTimeUtc,
        is_partition_empty: info.isEmpty,
      });
      return;
    }
    reply(context, 400, `unsupported $management entity type ${String(properties["type"])}`);
  }

  function isManagementAddress(address: string | undefined): boolean {
    return address === MANAGEMENT_ADDRESS || address?.toLowerCase() === `${hubPath}/${MANAGEMENT_ADDRESS}`;
  }

  // ---- partition receivers --------------------------------------------------------------------------

  function openPartitionReader(sender: Sender, address: string): void {
    const match = RECEIVER_ADDRESS.exec(address);
    const [, hub = "", group = "", partitionId = ""] = match ?? [];
    if (!match || hub.toLowerCase() !== hubPath || !consumerGroups.has(group.toLowerCase())) {
      sender.close(entityNotFound(address));
      return;
    }
    if (!log.partitionIds.includes(partitionId)) {
      sender.close({
        condition: "com.microsoft:argument-out-of-range",
        description: `partition "${partitionId}" does not exist: partitions are ${log.partitionIds.join(", ")}`,
      });
      return;
    }
    if (!isGranted(sender.connection, address.toLowerCase())) {
      sender.close({
        condition: "amqp:unauthorized-access",
        description: `Unauthorized: no valid put-token covers '${address}'.`,
      });
      return;
    }
    let firstSequenceNumber: number;
    try {
      const filter = describedValue(sender.source?.filter?.[SELECTOR_FILTER]);
      firstSequenceNumber =
        typeof filter === "string"
          ? startSequenceNumber(log, partitionId, parseStartFilter(filter))
          : log.partitionInfo(partitionId).beginningSequenceNumber;
    } catch (error) {
      sender.close({ condition: "amqp:invalid-field", description: (error as Error).message });
      return;
    }
    const epochValue: unknown = sender.properties?.[EPOCH_PROPERTY];
    const ownerLevel = typeof epochValue === "number" ? epochValue : undefined;
    const groupKey = `${group.toLowerCase()}/${partitionId}`;
    const rivals = [...readers.values()].filter((reader) => reader.groupKey === groupKey);
    const highest = Math.max(-1, ...rivals.map((reader) => reader.ownerLevel ?? -1));
    if (highest >= 0 && (ownerLevel === undefined || ownerLevel < highest)) {
      sender.close({
        condition: "amqp:link:stolen",
        description: `a receiver with owner level ${highest} is already reading partition ${partitionId} of consumer group ${group}`,
      });
      return;
    }
    if (ownerLevel !== undefined) {
      // As Event Hubs: a receiver with an owner level at least as high takes the partition over, so
      // load balancing consumers (all at owner level 0) hand a partition from one to the next.
      for (const rival of rivals) {
        rival.close({
          condition: "amqp:link:stolen",
          description: `New receiver with owner level ${ownerLevel} took over partition ${partitionId} from the receiver with owner level ${rival.ownerLevel ?? "none"}`,
        });
      }
    }
    sender.set_source({ address });
    const desired = sender.desired_capabilities;
    readers.set(
      sender,
      new PartitionReader({
        sender,
        log,
        partitionId,
        groupKey,
        ownerLevel,
        firstSequenceNumber,
        trackRuntimeMetric: ([] as string[]).concat(desired ?? []).includes(RUNTIME_METRIC_CAPABILITY),
        onClose: () => readers.delete(sender),
      }),
    );
  }

  // ---- wiring ---------------------------------------------------------------------------------------

  const container = rhea.create_container({ id: `iothub-simulator-${hubName}` });

  container.on("sender_open", (context: EventContext) => {
    const sender = context.sender as Sender;
    // Deliver pre-settled ("settle on send"), as Event Hubs does: consumers checkpoint instead of
    // acknowledging, and no dispositions can trail a client's session end. rhea has no public
    // setting for links the peer opens, so set the attach field before the attach frame goes out.
    (sender as Sender & { local: { attach: { snd_settle_mode: number } } }).local.attach.snd_settle_mode = 1;
    const address = sender.source?.address ?? "";
    if (address === CBS_ADDRESS || isManagementAddress(address)) {
      let links = replyLinks.get(context.connection);
      if (!links) replyLinks.set(context.connection, (links = new Map<string, Sender>()));
      links.set(sender.name, sender);
      const target = sender.target?.address;
      if (target) links.set(target, sender);
      sender.set_source({ address });
      return;
    }
    openPartitionReader(sender, address);
  });

  container.on("receiver_open", (context: EventContext) => {
    const receiver = context.receiver as Receiver;
    const address = receiver.target?.address;
    if (address === CBS_ADDRESS || isManagementAddress(address)) {
      receiver.set_target({ address });
      return;
    }
    receiver.close(entityNotFound(address ?? ""));
  });

  container.on("message", (context: EventContext) => {
    const address = context.receiver?.target?.address;
    if (address === CBS_ADDRESS) onPutToken(context);
    else if (isManagementAddress(address)) onManagementRequest(context);
  });

  container.on("sendable", (context: EventContext) => {
    if (context.sender) readers.get(context.sender)?.pump();
  });

  function forget(connection: Connection): void {
    connections.delete(connection);
    for (const reader of [...readers.values()]) {
      if (reader.connection === connection) reader.close();
    }
  }
  container.on("sender_close", (context: EventContext) => {
    if (context.sender) readers.get(context.sender)?.close();
  });
  container.on("connection_close", (context: EventContext) => forget(context.connection));
  container.on("disconnected", (context: EventContext) => forget(context.connection));
  // Client-caused link and connection errors are the client's business; keep serving the others.
  container.on("error", () => undefined);

  container.on("connection_open", (context: EventContext) => connections.add(context.connection));
  const sockets = new Set<Socket>();
  const servers: Server[] = [];
  async function listen(listenOptions: ServerConnectionOptions, port: number): Promise<number> {
    const server: Server = container.listen(listenOptions);
    servers.push(server);
    server.on("connection", (socket: Socket) => {
      sockets.add(socket);
      socket.on("close", () => sockets.delete(socket));
    });
    await new Promise<void>((resolve, reject) => {
      const onError = (error: Error) =>
        reject(new Error(`event hub endpoint could not listen on ${host}:${port}: ${error.message}`));
      server.once("error", onError);
      server.once("listening", () => {
        server.off("error", onError);
        resolve();
      });
    });
    const address = server.address();
    return typeof address === "object" && address !== null ? address.port : port;
  }
  const port = await listen({ host, port: options.port }, options.port);
  const tlsPort =
    options.tls &&
    (await listen(
      { transport: "tls", host, port: 0, cert: options.tls.certPem, key: options.tls.keyPem },
      0,
    ));
  const endpointHost = host.includes(":") ? `[${host}]` : host;
  const connectionString =
    `Endpoint=sb://${endpointHost}:${port}/;SharedAccessKeyName=${key.keyName};` +
    `SharedAccessKey=${key.key};EntityPath=${hubName};UseDevelopmentEmulator=true`;

  let stopped: Promise<void> | undefined;
  return {
    port,
    ...(tlsPort !== undefined && { tlsPort }),
    connectionString,
    openReceiverCount(consumerGroup) {
      const readerList = [...readers.values()];
      if (consumerGroup === undefined) return readerList.length;
      const prefix = `${consumerGroup.toLowerCase()}/`;
      return readerList.filter((reader) => reader.groupKey.startsWith(prefix)).length;
    },
    stop() {
      stopped ??= (async () => {
        for (const reader of [...readers.values()]) reader.close();
        const closed = Promise.all(servers.map((server) => once(server, "close")));
        for (const server of servers) server.close();
        // Tell connected clients why, let rhea write the close frames, then end the sockets.
        for (const connection of connections) {
          if (connection.is_open()) {
            connection.close({
              condition: "amqp:connection:forced",
              description: "the simulated hub is stopping",
            });
          }
        }
        await new Promise((resolve) => setImmediate(resolve));
        for (const socket of sockets) socket.end();
        // A client that never closes its side must not hold the stop up.
        const forceClose = setTimeout(() => sockets.forEach((socket) => socket.destroy()), 1000);
        await closed;
        clearTimeout(forceClose);
      })();
      return stopped;
    },
  };
}

/** rhea hands a described filter value either unwrapped or as { descriptor, value }. */
function describedValue(value: unknown): unknown {
  if (typeof value === "object" && value !== null && "value" in value) {
    return value.value;
  }
  return value;
}
