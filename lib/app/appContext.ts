// What the app builds once per process from its settings: the settings themselves (read and checked
// at start), one HubClient per hub, the pod records table. Functions get it through `appContext()`.
import { createHubClient } from "../hub/createHubClient.js";
import type { HubClient } from "../hub/hubClient.js";
import { KeyedSerial } from "../provider/keyedSerial.js";
import { PodRecords } from "../provider/podRecords.js";
import type { FleetStatus } from "../status/statusContract.js";
import { StatusStore } from "../status/statusStore.js";
import type { EdgeConfiguration } from "../translate/deploymentTypes.js";
import { baseDeployment } from "./baseDeployment.js";
import { hubBudget } from "../scheduler/hubBudget.js";
import { appSettingNames, hubSettingNames, readAppSettings, type AppSettings } from "./settings.js";

export interface AppContext {
  settings: AppSettings;
  records: PodRecords;
  hubClient(hub: string): HubClient;
  deploymentLimit(hub: string): number;
  /** the hub's base deployment when the app owns one */
  baseDeployment(hub: string): EdgeConfiguration | undefined;
  baseDeploymentsSubmitted: Set<string>;
  /** one provider request at a time per pod (and per hub's base deployment), across this process's requests */
  serial: KeyedSerial;
  /** Fleet statuses the status pipeline (functions/twinEvents.ts) keeps in its table. */
  fleetStatuses(hub: string, configurationIds: readonly string[]): Promise<ReadonlyMap<string, FleetStatus>>;
}

export function createAppContext(
  env: Readonly<Record<string, string | undefined>> = process.env,
): AppContext {
  const settings = readAppSettings(env);
  const storage = env[appSettingNames.storage];
  if (!storage)
    throw new Error(`app setting ${appSettingNames.storage} is required (the pod records table lives there)`);
  const clients = new Map<string, HubClient>();
  const statusStore = StatusStore.fromConnectionString(storage);
  const hubSettings = (hub: string) => {
    const found = settings.hubs.find((candidate) => candidate.name === hub);
    if (found === undefined) throw new Error(`hub "${hub}" is not one of ${appSettingNames.hubs}`);
    return found;
  };
  return {
    settings,
    records: PodRecords.fromConnectionString(storage),
    hubClient(hub) {
      const existing = clients.get(hub);
      if (existing !== undefined) return existing;
      const { connectionString } = hubSettings(hub);
      if (connectionString === undefined) {
        // azure-iothub has Registry.fromTokenCredential, but the hub client (lib/hub) is built on
        // connection strings only; a managed identity needs that client to take a credential first.
        const names = hubSettingNames(hub);
        throw new Error(
          `hub "${hub}": ${names.hostName} (managed identity) is not supported yet; set ${names.connection} to a service connection string`,
        );
      }
      const client = createHubClient(connectionString);
      clients.set(hub, client);
      return client;
    },
    baseDeployment(hub) {
      return hubSettings(hub).baseDeployment ? baseDeployment(settings, hub) : undefined;
    },
    baseDeploymentsSubmitted: new Set(),
    serial: new KeyedSerial(),
    deploymentLimit(hub) {
      const { sku, units } = hubSettings(hub);
      return hubBudget(sku, units).deploymentLimit;
    },
    fleetStatuses: (hub, configurationIds) => statusStore.fleetStatuses(hub, configurationIds),
  };
}

let shared: AppContext | undefined;

/** The process's context, built on first use (settings problems then fail every invocation, naming the settings). */
export function appContext(): AppContext {
  shared ??= createAppContext();
  return shared;
}
