// Starts a simulated IoT Hub: the REST surface over HTTPS (port 443 on a loopback address, certificate
// from the local CA), the built-in Event Hub-compatible endpoint over AMQP, and a fleet of simulated IoT
// Edge devices. Every twin change, connection change and identity change becomes a routed event on the
// endpoint, as the hub's message routes deliver them.
import { randomBytes } from "node:crypto";
import { createServer, type Server } from "node:https";
import type { TwinObject } from "../../lib/hub/twinQuery.js";
import { ensureLocalCa, issueServerCertificate } from "./certificates.js";
import { MetricsCache } from "./configurationMetrics.js";
import { ConfigurationStore } from "./configurationStore.js";
import { DeviceRegistry, type RegistryListener, type TwinChange } from "./deviceRegistry.js";
import { startEventHubEndpoint, type EventHubEndpoint } from "./eventHubEndpoint.js";
import type { EventLog } from "./eventLog.js";
import { Fleet, type DeviceSeed } from "./fleet.js";
import { createMemoryEventLog } from "./memoryEventLog.js";
import { createRestApi } from "./restApi.js";
import {
  connectionSequenceNumber,
  connectionStateEvent,
  lifecycleEvent,
  twinChangeEvent,
} from "./routedEvents.js";
import { DEFAULT_RUNTIME_TIMINGS, type ModuleFault, type RuntimeTimings } from "./simulatedEdgeAgent.js";
import { hubLimits, SKUS, type OperationClass, type Sku } from "./skuLimits.js";
import { TrafficShaper, type HubOutage } from "./trafficShaper.js";
import type { TrustedTokenIssuer } from "./localTokenIssuer.js";

export interface SimulatorOptions {
  /** Default "sim-hub". */
  hubName?: string;
  /** Loopback address to serve on; default 127.0.0.1. */
  host?: string;
  /** Default 443: azure-iothub only reaches port 443. */
  httpsPort?: number;
  /** AMQP port of the Event Hub-compatible endpoint; default 0 (a free port). */
  amqpPort?: number;
  /** Default "S1". */
  sku?: Sku;
  /** Default 1. */
  units?: number;
  devices?: DeviceSeed[];
  /** How often the hub re-evaluates deployments; default 2000 ms. */
  evaluationIntervalMs?: number;
  /** How often module runtimes advance; default 100 ms. */
  runtimeStepMs?: number;
  runtime?: Partial<RuntimeTimings>;
  /** Longest a request is queued by traffic shaping before the hub answers 429 instead; default 5000 ms. */
  maxQueueDelayMs?: number;
  /** Shared access policy; default iothubowner with a generated key. */
  sharedAccessKeyName?: string;
  sharedAccessKey?: string;
  /** Issuers whose bearer tokens the REST API accepts (managed identity's stand-in); default none. */
  trustedTokenIssuers?: TrustedTokenIssuer[];
  /** Partitions of the Event Hub-compatible endpoint; default 4. */
  partitionCount?: number;
  /** Events each partition keeps before the oldest are dropped (the endpoint's retention); the event log's default otherwise. */
  retainEventsPerPartition?: number;
  /** Where the local CA lives; default .cache/simulator-ca. */
  caDirectory?: string;
  /** Clock for twin timestamps and module runtimes; default the system clock. */
  now?: () => Date;
}

export interface SimulatorStats {
  /** Requests served per REST operation (addOrUpdateConfiguration, getTwin, queryTwins, ...). */
  operations: Record<string, number>;
  admitted: Record<OperationClass, number>;
  /** Requests traffic shaping queued and answered late. */
  shaped: Record<OperationClass, number>;
  /** Requests refused with 429. */
  throttled: Record<OperationClass, number>;
  eventsRouted: number;
  lastEvaluationMs: number;
}

export interface SimulatedFleet {
  addDevice(seed: DeviceSeed): void;
  /** Merges tags into the device twin (null removes one). */
  setTags(deviceId: string, tags: TwinObject): void;
  setOnline(deviceId: string, online: boolean): void;
  injectFault(deviceId: string, moduleName: string, fault: ModuleFault): void;
  /** Every module with this image, on every device, from its next start or pull (a bad release). */
  injectImageFault(image: string, fault: ModuleFault): void;
  clearFault(deviceId: string, moduleName: string): void;
  /** Runs the hub's deployment evaluation now instead of waiting for the cadence. */
  evaluateNow(): Promise<void>;
  /** Copies of twins as the hub holds them, for assertions. */
  deviceTwin(deviceId: string): TwinObject;
  moduleTwin(deviceId: string, moduleId: string): TwinObject;
  readonly size: number;
}

export interface RunningSimulator {
  hubName: string;
  host: string;
  httpsPort: number;
  amqpPort: number;
  /** Contains the key: never log it. */
  iotHubConnectionString: string;
  /** Contains the key: never log it. */
  eventHubConnectionString: string;
  /**
   * With trusted token issuers: the built-in endpoint as a namespace (`host:port`, AMQPS) for an
   * identity-based connection (`<CONNECTION>__fullyQualifiedNamespace`, a TokenCredential).
   */
  eventHubNamespace?: string;
  /** The CA certificate clients must trust (NODE_EXTRA_CA_CERTS). */
  caCertPath: string;
  eventLog: EventLog;
  fleet: SimulatedFleet;
  faults: {
    throttleNext(count: number, retryAfterSeconds?: number): void;
    /** every REST request refused (429 or 503) until called with undefined */
    outage(outage: HubOutage | undefined): void;
  };
  readonly stats: SimulatorStats;
  stop(): Promise<void>;
}

function requirePositiveInteger(name: string, value: number): number {
  if (!Number.isInteger(value) || value < 0)
    throw new RangeError(`${name} must be a non-negative integer, got ${value}`);
  return value;
}

async function listen(server: Server, port: number, host: string): Promise<number> {
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, host, () => {
      server.off("error", reject);
      resolve();
    });
  }).catch((error: NodeJS.ErrnoException) => {
    if (error.code === "EACCES") {
      throw new Error(
        `Cannot listen on ${host}:${port}: ports below 1024 need root, or run ` +
          "`sudo sysctl net.ipv4.ip_unprivileged_port_start=443` (or setcap cap_net_bind_service on node)",
      );
    }
    throw new Error(`Cannot listen on ${host}:${port}: ${error.message}`);
  });
  const address = server.address();
  return typeof address === "object" && address ? address.port : port;
}

export async function startSimulator(options: SimulatorOptions = {}): Promise<RunningSimulator> {
  const hubName = options.hubName ?? "sim-hub";
  const host = options.host ?? "127.0.0.1";
  const sku = options.sku ?? "S1";
  if (!SKUS.includes(sku)) throw new RangeError(`sku must be one of ${SKUS.join(", ")}, got ${String(sku)}`);
  const limits = hubLimits(sku, options.units ?? 1);
  const now = options.now ?? (() => new Date());
  const evaluationIntervalMs = requirePositiveInteger(
    "evaluationIntervalMs",
    options.evaluationIntervalMs ?? 2_000,
  );
  const policy = {
    hostName: host,
    keyName: options.sharedAccessKeyName ?? "iothubowner",
    key: options.sharedAccessKey ?? randomBytes(32).toString("base64"),
  };

  const eventLog = createMemoryEventLog(options.partitionCount ?? 4, {
    now,
    ...(options.retainEventsPerPartition !== undefined && {
      retainPerPartition: options.retainEventsPerPartition,
    }),
  });
  let eventsRouted = 0;
  // The fleet is built after the registry it listens to; it subscribes here once it exists.
  const twinObservers: ((change: TwinChange) => void)[] = [];
  const route = (deviceId: string, event: Parameters<EventLog["append"]>[1]) => {
    eventLog.append(deviceId, event);
    eventsRouted += 1;
  };
  const listener: RegistryListener = {
    twinChanged(change: TwinChange) {
      const properties: TwinObject = {};
      if (change.desired) properties["desired"] = change.desired;
      if (change.reported) properties["reported"] = change.reported;
      const body: TwinObject = {};
      if (change.tags) body["tags"] = change.tags;
      if (Object.keys(properties).length > 0) body["properties"] = properties;
      if (change.configurations) body["configurations"] = change.configurations;
      route(
        change.deviceId,
        twinChangeEvent({
          hubName,
          deviceId: change.deviceId,
          ...(change.moduleId !== undefined && { moduleId: change.moduleId }),
          opType: "updateTwin",
          version: change.version,
          body,
          enqueuedTime: now(),
        }),
      );
      for (const observe of twinObservers) observe(change);
    },
    connectionChanged(deviceId, connected, counter) {
      route(
        deviceId,
        connectionStateEvent({
          hubName,
          deviceId,
          connected,
          sequenceNumber: connectionSequenceNumber(counter),
          enqueuedTime: now(),
        }),
      );
    },
    identityChanged(deviceId, moduleId, created, twin) {
      route(
        deviceId,
        lifecycleEvent({
          hubName,
          deviceId,
          ...(moduleId !== undefined && { moduleId }),
          created,
          twin,
          enqueuedTime: now(),
        }),
      );
    },
  };

  const registry = new DeviceRegistry(listener, now);
  const configurations = new ConfigurationStore(limits, now);
  const engine = new Fleet(registry, configurations, {
    evaluationIntervalMs,
    runtimeStepMs: requirePositiveInteger("runtimeStepMs", options.runtimeStepMs ?? 100),
    timings: { ...DEFAULT_RUNTIME_TIMINGS, ...options.runtime },
    now,
  });
  twinObservers.push((change) => engine.twinChanged(change));
  for (const seed of options.devices ?? []) engine.addDevice(seed);

  const shaper = new TrafficShaper(limits.rates, options.maxQueueDelayMs ?? 5_000, () => now().getTime());
  const operationCounts: Record<string, number> = {};
  const ca = await ensureLocalCa(options.caDirectory);
  const certificate = await issueServerCertificate(ca, host);
  const server = createServer(
    { cert: certificate.certPem, key: certificate.keyPem },
    createRestApi({
      registry,
      configurations,
      metrics: new MetricsCache(registry, configurations),
      fleet: engine,
      shaper,
      limits,
      policy,
      tokenIssuers: options.trustedTokenIssuers ?? [],
      now,
      operationCounts,
    }),
  );
  // Keep idle connections longer than clients do (Node's agent drops them after 5 s), as Azure's front
  // ends do: a server closing first races a client reusing the socket and surfaces as ECONNRESET.
  server.keepAliveTimeout = 120_000;
  const httpsPort = await listen(server, options.httpsPort ?? 443, host);

  let endpoint: EventHubEndpoint;
  try {
    endpoint = await startEventHubEndpoint({
      host,
      port: options.amqpPort ?? 0,
      hubName,
      log: eventLog,
      sharedAccessKeyName: policy.keyName,
      sharedAccessKey: policy.key,
      ...(options.trustedTokenIssuers?.length && {
        tokenIssuers: options.trustedTokenIssuers,
        tls: certificate,
      }),
    });
  } catch (error) {
    server.close();
    throw error;
  }
  engine.start();

  const clone = (twin: TwinObject) => structuredClone(twin);
  return {
    hubName,
    host,
    httpsPort,
    amqpPort: endpoint.port,
    iotHubConnectionString: `HostName=${host};SharedAccessKeyName=${policy.keyName};SharedAccessKey=${policy.key}`,
    eventHubConnectionString: endpoint.connectionString,
    ...(endpoint.tlsPort !== undefined && { eventHubNamespace: `${host}:${endpoint.tlsPort}` }),
    caCertPath: ca.certPath,
    eventLog,
    fleet: {
      addDevice: (seed) => engine.addDevice(seed),
      setTags: (deviceId, tags) => engine.setTags(deviceId, tags),
      setOnline: (deviceId, online) => engine.setOnline(deviceId, online),
      injectFault: (deviceId, moduleName, fault) => engine.injectFault(deviceId, moduleName, fault),
      injectImageFault: (image, fault) => engine.injectImageFault(image, fault),
      clearFault: (deviceId, moduleName) => engine.clearFault(deviceId, moduleName),
      evaluateNow: () => Promise.resolve(engine.evaluateAll()),
      deviceTwin: (deviceId) => clone(registry.deviceTwin(registry.get(deviceId))),
      moduleTwin: (deviceId, moduleId) =>
        clone(registry.moduleTwin(registry.get(deviceId), registry.module(deviceId, moduleId))),
      get size() {
        return engine.size;
      },
    },
    faults: {
      throttleNext: (count, retryAfterSeconds) => shaper.throttleNext(count, retryAfterSeconds),
      outage: (outage) => shaper.outage(outage),
    },
    get stats(): SimulatorStats {
      return {
        operations: { ...operationCounts },
        admitted: { ...shaper.stats.admitted },
        shaped: { ...shaper.stats.shaped },
        throttled: { ...shaper.stats.throttled },
        eventsRouted,
        lastEvaluationMs: engine.lastEvaluationMs,
      };
    },
    async stop() {
      engine.stop();
      await Promise.all([
        new Promise<void>((resolve) => {
          server.close(() => resolve());
          server.closeAllConnections();
        }),
        endpoint.stop(),
      ]);
    },
  };
}
