// The app's storage account (AzureWebJobsStorage) in either form the Functions host accepts: a
// connection string, or the identity-based form (`__accountName`, or the three `__<service>ServiceUri`
// settings) reached with the app's managed identity. The app keeps its tables there; the host (the
// Durable task hub, Event Hubs checkpoints) its blobs and queues, so the identity form needs all three.
import { checkIdentityProperties } from "./identityConnection.js";
import { appSettingNames, SettingsError } from "./settings.js";
import type { StorageConnection } from "../storage/storageConnection.js";

type Environment = Readonly<Record<string, string | undefined>>;

const services = [
  { service: "blob", property: "blobServiceUri", use: "the task hub's blobs" },
  { service: "queue", property: "queueServiceUri", use: "the task hub's queues" },
  { service: "table", property: "tableServiceUri", use: "the app's tables" },
] as const;

/** Reads AzureWebJobsStorage; throws a SettingsError naming each setting at fault. */
export function readStorageSettings(env: Environment = process.env): StorageConnection {
  const name = appSettingNames.storage;
  const problems: SettingsError["problems"] = [];
  const connectionString = env[name] || undefined;
  const accountName = env[`${name}__accountName`] || undefined;
  const given = services.filter(({ property }) => env[`${name}__${property}`]);
  const clientId = checkIdentityProperties(env, name, problems);

  if (connectionString !== undefined) {
    if (accountName !== undefined || given.length > 0)
      problems.push({ setting: name, reason: `set either the connection string or ${name}__accountName` });
    if (problems.length > 0) throw new SettingsError(problems);
    return { kind: "connectionString", connectionString };
  }
  if (accountName === undefined && given.length === 0)
    throw new SettingsError([
      {
        setting: name,
        reason: `is required (a connection string, or ${name}__accountName for the managed identity)`,
      },
    ]);

  const uris: Partial<Record<(typeof services)[number]["service"], string>> = {};
  if (accountName !== undefined) {
    if (given.length > 0)
      problems.push({
        setting: `${name}__accountName`,
        reason: `set either it or the ${name}__<service>ServiceUri settings`,
      });
    if (!/^[a-z0-9]{3,24}$/.test(accountName))
      problems.push({ setting: `${name}__accountName`, reason: "is not a storage account name" });
    for (const { service } of services) uris[service] = `https://${accountName}.${service}.core.windows.net`;
  } else {
    const first = `${name}__${given[0]!.property}`;
    for (const { service, property, use } of services) {
      const setting = `${name}__${property}`;
      const value = env[setting];
      if (!value) problems.push({ setting, reason: `is required with ${first} (${use})` });
      else if (!/^https:\/\/[^/\s]+/i.test(value))
        problems.push({ setting, reason: "must be an https URL (bearer tokens travel only over TLS)" });
      else uris[service] = value.replace(/\/+$/, "");
    }
  }
  if (problems.length > 0) throw new SettingsError(problems);
  return {
    kind: "identity",
    serviceUris: { blob: uris.blob!, queue: uris.queue!, table: uris.table! },
    ...(clientId !== undefined && { clientId }),
  };
}
