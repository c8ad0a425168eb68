// The app's own registrations in a local host process, wired to a simulator and an Azurite, and
// its provider API as the adapter calls it (function key). Tests and benchmarks start several on
// one storage account as the app's instances.
import path from "node:path";
import { startHostProcess, type HostProcess } from "../../dev/host/hostProcess.js";
import type { LocalAzurite } from "../../dev/localAzurite.js";
import type { RunningSimulator } from "../../dev/simulator/simulator.js";
import { appSettingNames, hubSettingNames } from "../../lib/app/settings.js";

const root = path.resolve(import.meta.dirname, "../..");
export const functionKey = "provider-test-function-key";
export const masterKey = "provider-test-master-key";

export interface AppHostOptions {
  azurite: Pick<LocalAzurite, "connectionString">;
  simulator: RunningSimulator;
  /** entry glob, default every registration */
  entry?: string;
  env?: Record<string, string>;
}

/** The app settings of an instance serving the simulator's hub. */
export function appHostEnvironment(options: AppHostOptions): Record<string, string> {
  const { azurite, simulator } = options;
  const names = hubSettingNames(simulator.hubName);
  return {
    // trust the simulator's CA even when this process was not started with it (benchmarks)
    NODE_EXTRA_CA_CERTS: simulator.caCertPath,
    LOCAL_HOST_FUNCTION_KEYS: functionKey,
    LOCAL_HOST_MASTER_KEY: masterKey,
    [appSettingNames.storage]: azurite.connectionString,
    [appSettingNames.hubs]: simulator.hubName,
    [names.connection]: simulator.iotHubConnectionString,
    [names.eventsConnection]: simulator.eventHubConnectionString,
    [names.eventsName]: simulator.hubName,
    ...options.env,
  };
}

export function startAppHost(options: AppHostOptions): Promise<HostProcess> {
  return startHostProcess({
    appDir: root,
    entry: options.entry ?? "functions/*.ts",
    env: appHostEnvironment(options),
  });
}

/** A provider API call on the host, with the function key unless told otherwise. */
export function providerCall(
  host: HostProcess,
  route: string,
  init: RequestInit = {},
  key: string | undefined = functionKey,
): Promise<Response> {
  return fetch(`${host.url}/api/v1/hubs/${route}`, {
    ...init,
    headers: {
      "content-type": "application/json",
      ...(key ? { "x-functions-key": key } : {}),
      ...init.headers,
    },
  });
}
