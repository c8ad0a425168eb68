// What the app builds once per process from its settings: the settings themselves (read and checked
// at start), one HubClient per hub, the pod records table. Functions get it through `appContext()`.
import { createHubClient } from "../hub/createHubClient.js";
import type { HubClient } from "../hub/hubClient.js";
import { KeyedSerial } from "../provider/keyedSerial.js";
import { PodRecords } from "../provider/podRecords.js";
import type { ProviderDependencies } from "../provider/providerService.js";
import { StatusStore } from "../status/statusStore.js";
import { baseDeployment } from "../provider/baseDeployment.js";
import { hubBudget } from "../scheduler/hubBudget.js";
import { appSettingNames, hubSettingNames, readAppSettings, type AppSettings } from "./settings.js";

/** What the provider needs from the process (all but its per-request parts), plus the settings. */
export interface AppContext extends Omit<ProviderDependencies, "hubNames" | "workflows" | "now"> {
  settings: AppSettings;
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
