// Builds azure-iothub's Registry and service Client from a connection string or, for a managed
// identity, a host name and a TokenCredential (what Registry.fromTokenCredential configures). Both share one REST
// client and one keep-alive HTTPS agent that this module owns, so that the hub client can trust an
// extra CA (a simulator's) and close its connections. The REST client class is not re-exported by
// the package's index, hence the import from its dist path (azure-iothub 1.16 has no exports map).

import { Agent } from "node:https";
import { rootCertificates } from "node:tls";
import iothub from "azure-iothub";
import type { TokenCredential } from "@azure/core-auth";
import type { Client, Registry } from "azure-iothub";
import { NoRetry } from "azure-iothub/dist/common-core/retry_policy.js";
import { RestApiClient } from "azure-iothub/dist/common-http/rest_api_client.js";

export interface HubConnectionSettings {
  hostName: string;
  sharedAccessKeyName: string;
  sharedAccessKey: string;
}

const REQUIRED_FIELDS = [
  ["HostName", "hostName"],
  ["SharedAccessKeyName", "sharedAccessKeyName"],
  ["SharedAccessKey", "sharedAccessKey"],
] as const;

/** Reads an IoT Hub connection string; errors name the missing field and never echo the string. */
export function parseHubConnectionString(connectionString: string): HubConnectionSettings {
  if (typeof connectionString !== "string" || connectionString.trim() === "") {
    throw new Error(
      "IoT Hub connection string is empty: expected HostName=...;SharedAccessKeyName=...;SharedAccessKey=...",
    );
  }
  const fields = new Map<string, string>();
  for (const part of connectionString.split(";")) {
    const separator = part.indexOf("=");
    if (separator > 0) fields.set(part.slice(0, separator).trim(), part.slice(separator + 1).trim());
  }
  const settings: Partial<HubConnectionSettings> = {};
  for (const [field, property] of REQUIRED_FIELDS) {
    const value = fields.get(field);
    if (!value) throw new Error(`IoT Hub connection string has no ${field}: expected ${field}=<value>`);
    settings[property] = value;
  }
  return settings as HubConnectionSettings;
}

/** A hub reached with Microsoft Entra ID: its host name and a credential (e.g. a managed identity's). */
export interface HubIdentitySettings {
  hostName: string;
  credential: TokenCredential;
}

/** The scope azure-iothub's fromTokenCredential constructors ask tokens for. */
export const iotHubTokenScope = "https://iothubs.azure.net/.default";

export interface SdkClients {
  registry: Registry;
  client: Client;
  close: () => void;
}

export interface SdkConnectionOptions {
  /** A CA certificate (PEM) to trust besides Node's bundled roots (e.g. a simulator's). */
  trustedCa?: string;
}

function sdkConfig(settings: HubConnectionSettings | HubIdentitySettings) {
  if ("credential" in settings) {
    return {
      host: settings.hostName,
      keyName: "",
      sharedAccessSignature: undefined,
      tokenCredential: settings.credential,
      tokenScope: iotHubTokenScope,
    };
  }
  return {
    host: settings.hostName,
    keyName: settings.sharedAccessKeyName,
    // A signature object, not a string: the REST client extends its expiry on every request.
    sharedAccessSignature: iothub.SharedAccessSignature.create(
      settings.hostName,
      settings.sharedAccessKeyName,
      settings.sharedAccessKey,
      Math.floor(Date.now() / 1000) + 3600,
    ),
  };
}

export function connectSdk(
  settings: HubConnectionSettings | HubIdentitySettings,
  options: SdkConnectionOptions = {},
): SdkClients {
  const { Registry, Client, Amqp } = iothub;
  const config = sdkConfig(settings) as ConstructorParameters<typeof Registry>[0];
  const rest = new RestApiClient(config, "iot-edge-connector/azure-iothub");
  const registry = new Registry(config, rest);
  // The service client's AMQP transport is never opened: direct methods go over REST.
  const client = new Client(new Amqp(config), rest);
  // Retries are ours (hub-aware, idempotency-aware); the SDK's own would multiply them.
  client.setRetryPolicy(new NoRetry());
  // A `ca` option replaces the bundled roots, so they are passed along with the extra one.
  const ca = options.trustedCa === undefined ? undefined : [...rootCertificates, options.trustedCa];
  const agent = new Agent({ keepAlive: true, ...(ca && { ca }) });
  // After the constructors, which each install an agent of their own.
  rest.setOptions({ http: { agent } });
  return { registry, client, close: () => agent.destroy() };
}
