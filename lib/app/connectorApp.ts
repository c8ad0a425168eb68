// The one owner of the Functions app's process-wide objects: the settings (read and checked once),
// one HubClient per hub, the tables, the status pipeline of each hub and one long-lived provider.
// Registrations in functions/ reach them through `connectorApp()` and hold nothing of their own.
import type { TokenCredential } from "@azure/core-auth";
import type { DurableClient } from "durable-functions";
import { createHubClient } from "../hub/createHubClient.js";
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
import { readSchedulerView } from "./durableWorkflows.js";
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
  /** the virtual nodes that may call the provider API (CONNECTOR_NODES) */
  readonly nodeCredentials: NodeCredentials;
  private readonly clients = new Map<string, HubClient>();
  private readonly connectors = new Map<string, HubConnector>();
  private readonly schedulerViews = new Map<
    string,
    { at: number; view: Promise<HubSchedulerView | undefined> }
  >();

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
      baseDeployment: (hub) =>
        this.hubSettings(hub).baseDeployment ? baseDeployment(settings.base, hub) : undefined,
      fleetStatuses: (hub, ids) => this.statusStore.fleetStatuses(hub, ids),
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

  /** The hub scheduler's view (its managed configurations), read at most once a second per hub. */
  schedulerView(client: DurableClient, hub: string): Promise<HubSchedulerView | undefined> {
    const now = Date.now();
    const cached = this.schedulerViews.get(hub);
    if (cached && now - cached.at < schedulerViewTtlMs) return cached.view;
    const view = readSchedulerView(client, hub);
    view.catch(() => this.schedulerViews.delete(hub));
    this.schedulerViews.set(hub, { at: now, view });
    return view;
  }

  /** The hub client (with retries) the provider and the status pipeline share. */
  hubClient(hub: string): HubClient {
    let client = this.clients.get(hub);
    if (client === undefined) {
      client = createHubClient(this.hubConnection(hub));
      this.clients.set(hub, client);
    }
    return client;
  }

  /** Single-attempt clients for the scheduler's applier, which backs off as a whole hub. */
  hubConnector(hub: string): HubConnector {
    let connector = this.connectors.get(hub);
    if (connector === undefined) {
      connector = connectorFor(this.hubConnection(hub));
      this.connectors.set(hub, connector);
    }
    return connector;
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
