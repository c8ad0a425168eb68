// The host's storage account (the Durable task hub, Event Hubs checkpoints) as the Functions host
// reads AzureWebJobsStorage: a connection string, or the identity-based form reached with the app's
// managed identity (the same settings and checks as the app: lib/app/storageSettings.ts).
import type { TokenCredential } from "@azure/core-auth";
import { BlobServiceClient, type StoragePipelineOptions as BlobOptions } from "@azure/storage-blob";
import { QueueServiceClient, type StoragePipelineOptions as QueueOptions } from "@azure/storage-queue";
import { appCredential } from "../../lib/app/appIdentity.js";
import { appSettingNames } from "../../lib/app/settings.js";
import { readStorageSettings } from "../../lib/app/storageSettings.js";
import type { StorageConnection } from "../../lib/storage/storageConnection.js";

let credential: TokenCredential | undefined;

/** The host's one credential for identity-based connections: the app's managed identity. */
export function hostCredential(): TokenCredential {
  credential ??= appCredential();
  return credential;
}

/** A connection string as given, else the settings' form; undefined when no storage is set at all. */
export function hostStorageConnection(
  given: string | StorageConnection | undefined,
  env: NodeJS.ProcessEnv = process.env,
): StorageConnection | undefined {
  if (typeof given === "string") return { kind: "connectionString", connectionString: given };
  if (given !== undefined) return given;
  const prefix = `${appSettingNames.storage}__`;
  const set = Object.entries(env).some(
    ([name, value]) => Boolean(value) && (name === appSettingNames.storage || name.startsWith(prefix)),
  );
  return set ? readStorageSettings(env) : undefined;
}

export function blobService(connection: StorageConnection, options?: BlobOptions): BlobServiceClient {
  return connection.kind === "connectionString"
    ? BlobServiceClient.fromConnectionString(connection.connectionString, options)
    : new BlobServiceClient(connection.serviceUris.blob, hostCredential(), options);
}

export function queueService(connection: StorageConnection, options?: QueueOptions): QueueServiceClient {
  return connection.kind === "connectionString"
    ? QueueServiceClient.fromConnectionString(connection.connectionString, options)
    : new QueueServiceClient(connection.serviceUris.queue, hostCredential(), options);
}
