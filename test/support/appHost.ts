// The app's own registrations in a local host process, wired to a simulator and an Azurite, with
// the virtual nodes it serves (each with its own key), and its provider API as an adapter calls it
// (its node's key). Tests and benchmarks start several on one storage account as the app's instances.
import { setTimeout as sleep } from "node:timers/promises";
import path from "node:path";
import { startHostProcess, type HostProcess } from "../../dev/host/hostProcess.js";
import { retryAfterMs } from "../../lib/adapter/providerClient.js";
import type { LocalAzurite } from "../../dev/localAzurite.js";
import type { ManagedIdentityEndpoint } from "../../dev/simulator/managedIdentityEndpoint.js";
import type { RunningSimulator } from "../../dev/simulator/simulator.js";
import { appSettingNames, hubSettingNames } from "../../lib/app/settings.js";
import { localNodeSettings, type LocalNode } from "../../dev/connector/localNodes.js";

const root = path.resolve(import.meta.dirname, "../..");
export const masterKey = "provider-test-master-key";

export interface AppHostOptions {
  azurite: Pick<LocalAzurite, "connectionString" | "serviceUris">;
  simulator: RunningSimulator;
  /** entry glob, default every registration */
  entry?: string;
  /** the virtual nodes registered with the app (CONNECTOR_NODES and their keys); none unless told */
  nodes?: readonly LocalNode[];
  env?: Record<string, string>;
  /**
   * No key in the settings: storage (Azurite in OAuth mode), hub and events by the app's managed
   * identity, whose tokens come from this App Service identity endpoint.
   */
  identity?: ManagedIdentityEndpoint["environment"];
}

/** The app settings of an instance serving the simulator's hub. */
export function appHostEnvironment(options: AppHostOptions): Record<string, string> {
  const { simulator } = options;
  const names = hubSettingNames(simulator.hubName);
  return {
    // trust the simulator's CA even when this process was not started with it (benchmarks)
    NODE_EXTRA_CA_CERTS: simulator.caCertPath,
    ...(options.nodes ? localNodeSettings(options.nodes) : {}),
    LOCAL_HOST_MASTER_KEY: masterKey,
    ...(options.identity ? identityConnections(options) : keyConnections(options)),
    [appSettingNames.hubs]: simulator.hubName,
    [names.eventsName]: simulator.hubName,
    ...options.env,
  };
}

function keyConnections({ azurite, simulator }: AppHostOptions): Record<string, string> {
  const names = hubSettingNames(simulator.hubName);
  return {
    [appSettingNames.storage]: azurite.connectionString,
    [names.connection]: simulator.iotHubConnectionString,
    [names.eventsConnection]: simulator.eventHubConnectionString,
  };
}

function identityConnections({ azurite, simulator, identity }: AppHostOptions): Record<string, string> {
  const names = hubSettingNames(simulator.hubName);
  if (!simulator.eventHubNamespace) throw new Error("the simulator trusts no token issuer");
  return {
    ...identity,
    [`${appSettingNames.storage}__blobServiceUri`]: azurite.serviceUris.blob,
    [`${appSettingNames.storage}__queueServiceUri`]: azurite.serviceUris.queue,
    [`${appSettingNames.storage}__tableServiceUri`]: azurite.serviceUris.table,
    [names.hostName]: simulator.host,
    [`${names.eventsConnection}__fullyQualifiedNamespace`]: simulator.eventHubNamespace,
  };
}

export function startAppHost(options: AppHostOptions): Promise<HostProcess> {
  return startHostProcess({
    appDir: root,
    entry: options.entry ?? "functions/*.ts",
    env: appHostEnvironment(options),
  });
}

export interface ProviderCallOptions {
  /**
   * A 503 with Retry-After (the app is behind) is sent again after it, as the adapter does, for up
   * to two minutes; false: the first answer is returned.
   */
  honourRetryAfter?: boolean;
}

const BUSY_GIVE_UP_MS = 120_000;

/** A provider API call on the host with this key (a node's; none to call without one). */
export async function providerCall(
  host: HostProcess,
  route: string,
  init: RequestInit,
  key: string | undefined,
  { honourRetryAfter = true }: ProviderCallOptions = {},
): Promise<Response> {
  const giveUpAt = Date.now() + BUSY_GIVE_UP_MS;
  for (;;) {
    const response = await fetch(`${host.url}/api/v1/hubs/${route}`, {
      ...init,
      headers: {
        "content-type": "application/json",
        ...(key ? { "x-functions-key": key } : {}),
        ...init.headers,
      },
    });
    const waitMs = response.status === 503 ? retryAfterMs(response) : undefined;
    if (!honourRetryAfter || !waitMs || Date.now() + waitMs > giveUpAt) return response;
    await response.body?.cancel();
    await sleep(waitMs);
  }
}
