// The Functions identity-based connection convention as the app reads it: storage by account name
// or service URIs, the Event Hubs trigger by namespace, one managed identity for the app.
import { describe, expect, it } from "vitest";
import { readAppSettings } from "../../lib/app/settings.js";
import { readStorageSettings } from "../../lib/app/storageSettings.js";

const hubByHostName = {
  CONNECTOR_HUBS: "hub-a",
  HUB_HUB_A_HOSTNAME: "hub-a.azure-devices.net",
  HUB_HUB_A_EVENTS_CONNECTION__fullyQualifiedNamespace: "ihsuprod-a.servicebus.windows.net",
  HUB_HUB_A_EVENTS_NAME: "hub-a",
};

describe("storage settings (AzureWebJobsStorage)", () => {
  it("reads a connection string as the keys form", () => {
    expect(readStorageSettings({ AzureWebJobsStorage: "UseDevelopmentStorage=true" })).toEqual({
      kind: "connectionString",
      connectionString: "UseDevelopmentStorage=true",
    });
  });

  it("derives the three service URIs from AzureWebJobsStorage__accountName, as the Functions host does", () => {
    expect(readStorageSettings({ AzureWebJobsStorage__accountName: "connstore1" })).toEqual({
      kind: "identity",
      serviceUris: {
        blob: "https://connstore1.blob.core.windows.net",
        queue: "https://connstore1.queue.core.windows.net",
        table: "https://connstore1.table.core.windows.net",
      },
    });
  });

  it("takes service URIs as given and keeps a user-assigned identity's client id", () => {
    expect(
      readStorageSettings({
        AzureWebJobsStorage__blobServiceUri: "https://127.0.0.1:10000/devstoreaccount1",
        AzureWebJobsStorage__queueServiceUri: "https://127.0.0.1:10001/devstoreaccount1",
        AzureWebJobsStorage__tableServiceUri: "https://127.0.0.1:10002/devstoreaccount1",
        AzureWebJobsStorage__credential: "managedidentity",
        AzureWebJobsStorage__clientId: "0b3c7c4e-0000-4000-8000-000000000001",
        AZURE_CLIENT_ID: "0b3c7c4e-0000-4000-8000-000000000001",
      }),
    ).toEqual({
      kind: "identity",
      serviceUris: {
        blob: "https://127.0.0.1:10000/devstoreaccount1",
        queue: "https://127.0.0.1:10001/devstoreaccount1",
        table: "https://127.0.0.1:10002/devstoreaccount1",
      },
      clientId: "0b3c7c4e-0000-4000-8000-000000000001",
    });
  });

  it("names the missing service URI when only part of the identity form is set", () => {
    expect(() =>
      readStorageSettings({
        AzureWebJobsStorage__tableServiceUri: "https://connstore1.table.core.windows.net",
      }),
    ).toThrow(
      "invalid app settings: AzureWebJobsStorage__blobServiceUri: is required with AzureWebJobsStorage__tableServiceUri (the task hub's blobs); AzureWebJobsStorage__queueServiceUri: is required with AzureWebJobsStorage__tableServiceUri (the task hub's queues)",
    );
  });

  it("refuses both forms at once, plain HTTP for bearer tokens, another credential kind and a second identity", () => {
    expect(() =>
      readStorageSettings({
        AzureWebJobsStorage: "UseDevelopmentStorage=true",
        AzureWebJobsStorage__accountName: "a1",
      }),
    ).toThrow("AzureWebJobsStorage: set either the connection string or AzureWebJobsStorage__accountName");
    expect(() =>
      readStorageSettings({
        AzureWebJobsStorage__blobServiceUri: "http://127.0.0.1:10000/devstoreaccount1",
        AzureWebJobsStorage__queueServiceUri: "https://127.0.0.1:10001/devstoreaccount1",
        AzureWebJobsStorage__tableServiceUri: "https://127.0.0.1:10002/devstoreaccount1",
      }),
    ).toThrow(
      "AzureWebJobsStorage__blobServiceUri: must be an https URL (bearer tokens travel only over TLS)",
    );
    expect(() =>
      readStorageSettings({
        AzureWebJobsStorage__accountName: "a1",
        AzureWebJobsStorage__credential: "clientsecret",
      }),
    ).toThrow("AzureWebJobsStorage__credential: must be managedidentity");
    expect(() =>
      readStorageSettings({ AzureWebJobsStorage__accountName: "a1", AzureWebJobsStorage__clientId: "other" }),
    ).toThrow("AzureWebJobsStorage__clientId: must equal AZURE_CLIENT_ID (the app signs in as one identity)");
  });

  it("names AzureWebJobsStorage when neither form is set", () => {
    expect(() => readStorageSettings({})).toThrow(
      "AzureWebJobsStorage: is required (a connection string, or AzureWebJobsStorage__accountName for the managed identity)",
    );
  });
});

describe("hub and events settings in the identity form", () => {
  it("accepts a hub by host name with its events by namespace: no key anywhere", () => {
    const [hub] = readAppSettings(hubByHostName).hubs;
    expect(hub).toMatchObject({
      hostName: "hub-a.azure-devices.net",
      eventsConnectionSetting: "HUB_HUB_A_EVENTS_CONNECTION",
    });
    expect(hub?.connectionString).toBeUndefined();
  });

  it("refuses the events connection given twice, or a namespace written as a URL", () => {
    expect(() =>
      readAppSettings({
        ...hubByHostName,
        HUB_HUB_A_EVENTS_CONNECTION: "Endpoint=sb://example/;SharedAccessKeyName=s;SharedAccessKey=a2V5",
      }),
    ).toThrow(
      "HUB_HUB_A_EVENTS_CONNECTION: set either the connection string or HUB_HUB_A_EVENTS_CONNECTION__fullyQualifiedNamespace",
    );
    expect(() =>
      readAppSettings({
        ...hubByHostName,
        HUB_HUB_A_EVENTS_CONNECTION__fullyQualifiedNamespace: "sb://ihsuprod-a.servicebus.windows.net/",
      }),
    ).toThrow(
      "HUB_HUB_A_EVENTS_CONNECTION__fullyQualifiedNamespace: must be a host name (host[:port]), not a URL",
    );
    expect(() =>
      readAppSettings({ ...hubByHostName, HUB_HUB_A_EVENTS_CONNECTION__credential: "azurecli" }),
    ).toThrow("HUB_HUB_A_EVENTS_CONNECTION__credential: must be managedidentity");
  });

  it("refuses a host name written as a URL", () => {
    expect(() =>
      readAppSettings({ ...hubByHostName, HUB_HUB_A_HOSTNAME: "https://hub-a.azure-devices.net" }),
    ).toThrow("HUB_HUB_A_HOSTNAME: must be a host name (host[:port]), not a URL");
  });
});
