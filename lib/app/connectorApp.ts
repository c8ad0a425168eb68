// The one owner of the Functions app's process-wide objects: the settings (read and checked once),
// one HubClient per hub, the tables, the status pipeline of each hub and one long-lived provider.
// Registrations in functions/ reach them through `connectorApp()` and hold nothing of their own.
import type { TokenCredential } from "@azure/core-auth";
import type { DurableClient } from "durable-functions";
import { createHubClient } from "../hub/createHubClient.js";
import { isConfigurationOperation, type HubAttemptEvent } from "../hub/hubCallStats.js";
import type { HubIdentitySettings } from "../hub/sdkConnection.js";
import type { HubClient } from "../hub/hubClient.js";
import { nodePolicyOf, type NodePolicy } from "../policy/fleetPolicy.js";
import { baseDeployment } from "../provider/baseDeployment.js";
import { NodeCredentials } from "../provider/nodeCredentials.js";
import { PodRecords } from "../provider/podRecords.js";
import { ProviderService } from "../provider/providerService.js";
import { hubBudget } from "../scheduler/hubBudget.js";
import { connectorFor, type HubConnector } from "../scheduler/hubOperations.js";
import type { SchedulerSettings } from "../scheduler/schedulerState.js";
import type { HubSchedulerView } from "../scheduler/schedulerContract.js";
import { HubStatusRegistry } from "../status/hubStatusRegistry.js";
import { StatusStore } from "../status/statusStore.js";
import type { StorageConnection } from "../storage/storageConnection.js";
import { appCredential } from "./appIdentity.js";
import { chargeScheduler, readSchedulerView } from "./durableWorkflows.js";
import { HubMetrics } from "./hubMetrics.js";
import { RecentReads } from "./recentReads.js";
import { TaskHubBacklog } from "./taskHubBacklog.js";
import {
  appSettingNames,
  hubSettingNames,
  readAppSettings,
  type AppSettings,
  type HubSettings,
} from "./settings.js";
import { readStorageSettings } from "./storageSettings.js";

type Environment = Readonly<Record<string, string | undefined>>;

/**
 * How long a hub scheduler's view serves the twin-events batches: each batch needs the managed
 * configurations, and a configuration the view lacks for a moment is counted once the view has it.
 */
const schedulerViewTtlMs = 1_000;

export class ConnectorApp {
  readonly records: PodRecords;
  readonly statusStore: StatusStore;
  readonly hubStatuses: HubStatusRegistry;
  readonly provider: ProviderService;
  /** the Durable task hub's queued messages: the provider takes no new pods while they are over the limit */
  readonly taskHubBacklog: TaskHubBacklog;
  /** the virtual nodes that may call the provider API (CONNECTOR_NODES) */
  readonly nodeCredentials: NodeCredentials;
  /** every hub request of this process, for the metrics route */
  readonly hubMetrics = new HubMetrics();
  /** per hub: configuration operations sent outside the scheduler and not yet charged to its budget */
  private readonly unchargedOperations = new Map<string, number>();
  private readonly clients = new Map<string, HubClient>();
  private readonly connectors = new Map<string, HubConnector>();
  private readonly schedulerViews = new RecentReads<HubSchedulerView | undefined>(schedulerViewTtlMs);

  constructor(
    readonly settings: AppSettings,
    /** a connection string, or the identity form (storageSettings.ts) */
    storage: string | StorageConnection,
    /** the app's managed identity: signs in to identity-based storage and to hubs by HUB_<NAME>_HOSTNAME */
    private readonly credential?: TokenCredential,
  ) {
    const connection: StorageConnection =
      typeof storage === "string" ? { kind: "connectionString", connectionString: storage } : storage;
    this.records = PodRecords.forStorage(connection, credential);
    this.nodeCredentials = new NodeCredentials(settings.nodes);
    this.taskHubBacklog = TaskHubBacklog.forStorage(connection, credential);
    this.statusStore = StatusStore.forStorage(connection, credential);
    this.hubStatuses = new HubStatusRegistry((hub) => ({
      hub,
      store: this.statusStore,
      hubClient: () => this.hubClient(hub),
    }));
    this.provider = new ProviderService({
      hubNames: settings.hubs.map((hub) => hub.name),
      records: this.records,
      hubClient: (hub) => this.hubClient(hub),
      deploymentLimit: (hub) => this.schedulerSettings(hub).budget.deploymentLimit,
      backlogLimit: settings.backlogLimit,
      nodePolicy: (node) => this.nodePolicy(node),
      baseDeployment: (hub) =>
        this.hubSettings(hub).baseDeployment ? baseDeployment(settings.base, hub) : undefined,
      fleetStatuses: (hub, ids) => this.statusStore.fleetStatuses(hub, ids),
      fleetTag: (hub) => this.statusStore.fleetTag(hub),
      deviceCounts: (hub) => this.statusStore.deviceCounts(hub),
      now: () => new Date(),
    });
  }

  static fromEnvironment(env: Environment = process.env): ConnectorApp {
    const storage = readStorageSettings(env);
    const settings = readAppSettings(env);
    const byIdentity = storage.kind === "identity" || settings.hubs.some((hub) => hub.hostName !== undefined);
    return new ConnectorApp(settings, storage, byIdentity ? appCredential(env) : undefined);
  }

  hubSettings(hub: string): HubSettings {
    const found = this.settings.hubs.find((candidate) => candidate.name === hub);
    if (found === undefined)
      throw new Error(`hub "${hub}" is not among the app's hubs (${appSettingNames.hubs})`);
    return found;
  }

  /** The scheduler entity's budget and grace for a hub. */
  schedulerSettings(hub: string): SchedulerSettings {
    const { sku, units } = this.hubSettings(hub);
    return { hub, budget: hubBudget(sku, units), graceSeconds: this.settings.releaseGraceSeconds };
  }

  /** The fleet policy of a virtual node (FLEET_POLICY; the default policy when none is written). */
  nodePolicy(node: string): NodePolicy {
    return nodePolicyOf(this.settings.fleetPolicy, node);
  }

  /**
   * The hub scheduler's view (its managed configurations), read at most once a second per hub; with
   * `startedAfter` (epoch ms), a view read at or after that moment (callers arriving while a read runs
   * share the next one: one entity read at a time per hub, however many partitions' batches wait).
   */
  schedulerView(
    client: DurableClient,
    hub: string,
    options: { startedAfter?: number } = {},
  ): Promise<HubSchedulerView | undefined> {
    return this.schedulerViews.read(hub, () => readSchedulerView(client, hub), options);
  }

  /**
   * Counts the hub's fleet statuses again with the scheduler's current view (after the hub created a
   * configuration or moved its target): the fill's parts and the partitions this process holds.
   */
  async recountFleetStatuses(client: DurableClient, hub: string): Promise<void> {
    const view = await readSchedulerView(client, hub);
    await this.hubStatuses.use(hub, (status) => status.setConfigurations(view));
  }

  /**
   * The hub client (with retries) the provider and the status pipeline share. Its configuration
   * operations are the scheduler's budget too: they wait in `unchargedOperations` until charged.
   */
  hubClient(hub: string): HubClient {
    let client = this.clients.get(hub);
    if (client === undefined) {
      client = createHubClient(this.hubConnection(hub), {
        onAttempt: (event) => {
          this.hubMetrics.count(hub, event);
          if (isConfigurationOperation(event.kind))
            this.unchargedOperations.set(hub, (this.unchargedOperations.get(hub) ?? 0) + 1);
        },
      });
      this.clients.set(hub, client);
    }
    return client;
  }

  /** Single-attempt clients for the scheduler's applier, which backs off as a whole hub. */
  hubConnector(hub: string): HubConnector {
    let connector = this.connectors.get(hub);
    if (connector === undefined) {
      const connect = connectorFor(this.hubConnection(hub));
      connector = (onAttempt: (event: HubAttemptEvent) => void) =>
        connect((event) => {
          this.hubMetrics.count(hub, event);
          onAttempt(event);
        });
      this.connectors.set(hub, connector);
    }
    return connector;
  }

  /**
   * Charges the hub's scheduler with the configuration operations this process sent outside it
   * since the last charge, so that its budget leaves room for them (the hub counts both alike).
   */
  async chargeOutsideOperations(client: DurableClient, hub: string): Promise<number> {
    const operations = this.unchargedOperations.get(hub) ?? 0;
    if (operations === 0) return 0;
    this.unchargedOperations.delete(hub);
    try {
      await chargeScheduler(client, hub, operations);
    } catch (error) {
      // not charged: the next charge carries them
      this.unchargedOperations.set(hub, (this.unchargedOperations.get(hub) ?? 0) + operations);
      throw error;
    }
    return operations;
  }

  private hubConnection(hub: string): string | HubIdentitySettings {
    const { connectionString, hostName } = this.hubSettings(hub);
    if (connectionString !== undefined) return connectionString;
    if (hostName !== undefined && this.credential !== undefined)
      return { hostName, credential: this.credential };
    // Only an app built without fromEnvironment (a test) can get here.
    throw new Error(`hub "${hub}": ${hubSettingNames(hub).hostName} (managed identity) needs a credential`);
  }
}

let shared: ConnectorApp | undefined;

/** The process's app, built on first use (a settings problem then fails every invocation, naming the settings). */
export function connectorApp(): ConnectorApp {
  shared ??= ConnectorApp.fromEnvironment();
  return shared;
}

/**
 * A timer's schedule from the settings, or undefined when the settings are wrong: the timer is
 * then not registered, and twinEvents.ts reports the settings problem once.
 */
export function timerSchedule(setting: "reconcileSchedule" | "purgeSchedule"): string | undefined {
  try {
    return connectorApp().settings[setting];
  } catch {
    return undefined;
  }
}
