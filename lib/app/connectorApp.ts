// The one owner of the Functions app's process-wide objects: the settings (read and checked once),
// one HubClient per hub, the tally of each hub's requests, the tables, the status pipeline of each hub
// and one long-lived provider.
// Registrations in functions/ reach them through `connectorApp()` and hold nothing of their own.
import { createHubClient } from "../hub/createHubClient.js";
import type { HubClient } from "../hub/hubClient.js";
import { HubTraffic } from "../hub/hubTraffic.js";
import { baseDeployment } from "../provider/baseDeployment.js";
import { PodRecords } from "../provider/podRecords.js";
import { ProviderService } from "../provider/providerService.js";
import { hubBudget } from "../scheduler/hubBudget.js";
import { connectorFor, type HubConnector } from "../scheduler/hubOperations.js";
import type { SchedulerSettings } from "../scheduler/schedulerState.js";
import type { EdgeConfiguration } from "../translate/deploymentTypes.js";
import { HubStatusRegistry } from "../status/hubStatusRegistry.js";
import { StatusStore } from "../status/statusStore.js";
import {
  appSettingNames,
  hubSettingNames,
  readAppSettings,
  type AppSettings,
  type HubSettings,
} from "./settings.js";

type Environment = Readonly<Record<string, string | undefined>>;

export class ConnectorApp {
  readonly records: PodRecords;
  readonly statusStore: StatusStore;
  readonly hubStatuses: HubStatusRegistry;
  readonly provider: ProviderService;
  private readonly clients = new Map<string, HubClient>();
  private readonly connectors = new Map<string, HubConnector>();
  private readonly traffics = new Map<string, HubTraffic>();

  constructor(
    readonly settings: AppSettings,
    storageConnection: string,
  ) {
    this.records = PodRecords.fromConnectionString(storageConnection);
    this.statusStore = StatusStore.fromConnectionString(storageConnection);
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
      baseDeployment: (hub) => this.baseDeployment(hub),
      fleetStatuses: (hub, ids) => this.statusStore.fleetStatuses(hub, ids),
      hubReachability: (hub) => this.traffic(hub).reachability(),
      now: () => new Date(),
    });
  }

  static fromEnvironment(env: Environment = process.env): ConnectorApp {
    const settings = readAppSettings(env);
    const storage = env[appSettingNames.storage];
    if (!storage)
      throw new Error(`app setting ${appSettingNames.storage} is required (the app's tables live there)`);
    return new ConnectorApp(settings, storage);
  }

  hubSettings(hub: string): HubSettings {
    const found = this.settings.hubs.find((candidate) => candidate.name === hub);
    if (found === undefined)
      throw new Error(`hub "${hub}" is not among the app's hubs (${appSettingNames.hubs})`);
    return found;
  }

  /** The hub's base deployment when the app owns one (HUB_<NAME>_BASE_DEPLOYMENT). */
  baseDeployment(hub: string): EdgeConfiguration | undefined {
    return this.hubSettings(hub).baseDeployment ? baseDeployment(this.settings.base, hub) : undefined;
  }

  /** The scheduler entity's budget and grace for a hub. */
  schedulerSettings(hub: string): SchedulerSettings {
    const { sku, units } = this.hubSettings(hub);
    return { hub, budget: hubBudget(sku, units), graceSeconds: this.settings.releaseGraceSeconds };
  }

  /** Every request this process sent the hub, by budget, caller and outcome. */
  traffic(hub: string): HubTraffic {
    let traffic = this.traffics.get(hub);
    if (traffic === undefined) {
      this.hubSettings(hub); // refuses an unknown hub
      traffic = new HubTraffic();
      this.traffics.set(hub, traffic);
    }
    return traffic;
  }

  /** The hub client (with retries) the provider and the status pipeline share. */
  hubClient(hub: string): HubClient {
    let client = this.clients.get(hub);
    if (client === undefined) {
      const traffic = this.traffic(hub);
      client = createHubClient(this.connectionString(hub), {
        onAttempt: (event) => traffic.record("app", event, Date.now()),
      });
      this.clients.set(hub, client);
    }
    return client;
  }

  /** Single-attempt clients for the scheduler's applier, which backs off as a whole hub. */
  hubConnector(hub: string): HubConnector {
    let connector = this.connectors.get(hub);
    if (connector === undefined) {
      const traffic = this.traffic(hub);
      const connect = connectorFor(this.connectionString(hub));
      connector = (onAttempt) =>
        connect((event) => {
          traffic.record("scheduler", event, Date.now());
          onAttempt(event);
        });
      this.connectors.set(hub, connector);
    }
    return connector;
  }

  private connectionString(hub: string): string {
    const { connectionString } = this.hubSettings(hub);
    if (connectionString === undefined) {
      // azure-iothub has Registry.fromTokenCredential, but the hub client (lib/hub) is built on
      // connection strings only; a managed identity needs that client to take a credential first.
      const names = hubSettingNames(hub);
      throw new Error(
        `hub "${hub}": ${names.hostName} (managed identity) is not supported yet; set ${names.connection} to a service connection string`,
      );
    }
    return connectionString;
  }
}

let shared: ConnectorApp | undefined;

/** The process's app, built on first use (a settings problem then fails every invocation, naming the settings). */
export function connectorApp(): ConnectorApp {
  shared ??= ConnectorApp.fromEnvironment();
  return shared;
}
