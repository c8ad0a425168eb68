// The Terraform and the app must agree on every app setting's name: the settings the Terraform
// computes (infra/modules/app-settings, applied for real) are handed to the app's own code, which
// records what it reads. Values are as the app sees them once the platform has resolved Key Vault
// references.
import { beforeAll, describe, expect, it } from "vitest";
import { ConnectorApp } from "../../lib/app/connectorApp.js";
import { appSettingNames, hubSettingNames, readAppSettings } from "../../lib/app/settings.js";
import { terraformAppSettings, type AppSettingsModuleInputs } from "./terraformAppSettings.js";

const hubNames = ["plant-a", "Factory7"] as const;

const common = {
  release_grace_seconds: 90,
  reconcile_schedule: "0 */10 * * * *",
  task_hub_backlog_limit: 50,
  base_target_condition: "tags.fleet='edge'",
  base_edge_agent_image: "mcr.microsoft.com/azureiotedge-agent:1.5",
  base_edge_hub_image: "mcr.microsoft.com/azureiotedge-hub:1.5",
  base_registry_credentials: '{"acr":{"address":"example.azurecr.io","username":"pull","password":"p"}}',
  log_level: "debug",
  fleet_policy: "nodes:\n  iot-edge-plant-a:\n    scope: \"tags.site = 'plant-a'\"\n    namespaces: { line-1: {} }\n",
  purge_schedule: "0 */2 * * * *",
  nodes: [
    { cluster: "east", hub: "plant-a", node: "iot-edge-plant-a", key_sha256: "a".repeat(64) },
    { cluster: "west", hub: "plant-a", node: "iot-edge-plant-a", key_sha256: "b".repeat(64) },
  ],
};

function hubInputs(reach: (hub: string) => { host_name: string } | { connection: string }) {
  return Object.fromEntries(
    hubNames.map((hub, index) => [
      hub,
      {
        ...reach(hub),
        events_connection: `Endpoint=sb://iothub-ns-${hub.toLowerCase()}.servicebus.windows.net/;SharedAccessKeyName=iot-edge-connector-events;SharedAccessKey=a2V5;EntityPath=${hub.toLowerCase()}`,
        events_name: hub.toLowerCase(),
        consumer_group: index === 0 ? "iot-edge-connector" : "connector",
        sku: index === 0 ? "S1" : "S3",
        units: index === 0 ? 2 : 1,
        base_deployment: index === 1,
      },
    ]),
  ) as AppSettingsModuleInputs["hubs"];
}

/** What the app also reads: the other form of each connection, and the identity's optional properties. */
const storage = appSettingNames.storage;
const storageIdentityProperties = [`${storage}__clientId`, `${storage}__credential`];
const storageServiceUris = ["blob", "queue", "table"].map((service) => `${storage}__${service}ServiceUri`);
const eventsNamespaces = hubNames.map((hub) => `${hubSettingNames(hub).eventsConnection}__fullyQualifiedNamespace`);

function recordingEnvironment(settings: Record<string, string>) {
  const read = new Set<string>();
  const env = new Proxy(settings, {
    get(target, name) {
      if (typeof name === "string") read.add(name);
      return typeof name === "string" ? target[name] : undefined;
    },
  });
  return { env, read };
}

describe("infra app settings, connection_mode keys (connection strings from Key Vault)", () => {
  let settings: Record<string, string>;
  let read: Set<string>;

  beforeAll(async () => {
    settings = await terraformAppSettings({
      ...common,
      hubs: hubInputs((hub) => ({
        connection: `HostName=${hub}.azure-devices.net;SharedAccessKeyName=iot-edge-connector-service;SharedAccessKey=a2V5`,
      })),
      storage: {
        connection:
          "DefaultEndpointsProtocol=https;AccountName=edgeconnsa;AccountKey=a2V5;EndpointSuffix=core.windows.net",
      },
    });
    const recording = recordingEnvironment(settings);
    read = recording.read;
    ConnectorApp.fromEnvironment(recording.env);
  });

  it("passes the app's own settings check with every hub as given", () => {
    const app = readAppSettings(settings);
    expect(app.hubs.map(({ name, connectionString, eventsConnectionSetting, sku, units, baseDeployment }) => ({
      name,
      connectionString,
      eventsConnectionSetting,
      sku,
      units,
      baseDeployment,
    }))).toEqual([
      {
        name: "Factory7",
        connectionString: "HostName=Factory7.azure-devices.net;SharedAccessKeyName=iot-edge-connector-service;SharedAccessKey=a2V5",
        eventsConnectionSetting: "HUB_FACTORY7_EVENTS_CONNECTION",
        sku: "S3",
        units: 1,
        baseDeployment: true,
      },
      {
        name: "plant-a",
        connectionString: "HostName=plant-a.azure-devices.net;SharedAccessKeyName=iot-edge-connector-service;SharedAccessKey=a2V5",
        eventsConnectionSetting: "HUB_PLANT_A_EVENTS_CONNECTION",
        sku: "S1",
        units: 2,
        baseDeployment: false,
      },
    ]);
    expect(app.releaseGraceSeconds).toBe(90);
    expect(app.reconcileSchedule).toBe("0 */10 * * * *");
    expect(app.base.targetCondition).toBe("tags.fleet='edge'");
    expect(app.base.registryCredentials).toEqual({ acr: { address: "example.azurecr.io", username: "pull", password: "p" } });
    expect(app.logLevel).toBe("debug");
    expect(app.fleetPolicy?.nodes["iot-edge-plant-a"]?.scope).toBe("tags.site = 'plant-a'");
    expect(app.purgeSchedule).toBe("0 */2 * * * *");
    expect(app.nodes).toEqual([
      { cluster: "east", hub: "plant-a", node: "iot-edge-plant-a", keySha256: "a".repeat(64) },
      { cluster: "west", hub: "plant-a", node: "iot-edge-plant-a", keySha256: "b".repeat(64) },
    ]);
  });

  it("sets no setting that the app does not read", () => {
    expect(Object.keys(settings).filter((name) => !read.has(name))).toEqual([]);
  });

  it("sets every setting the app reads, but the identity forms of storage, hubs and events", () => {
    const missing = [...read].filter((name) => settings[name] === undefined).sort();
    expect(missing).toEqual(
      [
        ...hubNames.map((hub) => hubSettingNames(hub).hostName),
        ...eventsNamespaces,
        `${storage}__accountName`,
        ...storageServiceUris,
        ...storageIdentityProperties,
      ].sort(),
    );
  });
});

describe("infra app settings, connection_mode identity (managed identity)", () => {
  let settings: Record<string, string>;
  let read: Set<string>;
  const storageAccountSetting = `${appSettingNames.storage}__accountName`;

  beforeAll(async () => {
    settings = await terraformAppSettings({
      ...common,
      hubs: hubInputs((hub) => ({ host_name: `${hub}.azure-devices.net` })),
      storage: { account_name: "edgeconnsa" },
    });
    const recording = recordingEnvironment(settings);
    read = recording.read;
    ConnectorApp.fromEnvironment(recording.env);
  });

  it("passes the app's settings check with the hubs reached by host name", () => {
    const app = readAppSettings(settings);
    expect(app.hubs.map(({ name, hostName, connectionString }) => ({ name, hostName, connectionString }))).toEqual([
      { name: "Factory7", hostName: "Factory7.azure-devices.net", connectionString: undefined },
      { name: "plant-a", hostName: "plant-a.azure-devices.net", connectionString: undefined },
    ]);
  });

  it("sets no setting that the app does not read, storage by account name among them", () => {
    expect(Object.keys(settings).filter((name) => !read.has(name))).toEqual([]);
    expect(settings[storageAccountSetting]).toBe("edgeconnsa");
    expect(settings[appSettingNames.storage]).toBeUndefined();
  });

  it("sets every setting the app reads, but the connection strings the identity replaces and its options", () => {
    const missing = [...read].filter((name) => settings[name] === undefined).sort();
    expect(missing).toEqual(
      [
        ...hubNames.map((hub) => hubSettingNames(hub).connection),
        // the built-in endpoint takes no Entra ID token: its connection string stays (from Key Vault)
        ...eventsNamespaces,
        storage,
        ...storageServiceUris,
        ...storageIdentityProperties,
        "AZURE_CLIENT_ID",
      ].sort(),
    );
  });

  it("names every app-wide and per-hub setting of lib/app/settings.ts in one of its forms", () => {
    const { storage, ...appWide } = appSettingNames;
    for (const name of Object.values(appWide)) expect(settings, name).toHaveProperty([name]);
    expect(settings).toHaveProperty([`${storage}__accountName`]);
    for (const hub of hubNames) {
      const { connection, ...perHub } = hubSettingNames(hub);
      expect(settings[connection]).toBeUndefined();
      for (const name of Object.values(perHub)) expect(settings, name).toHaveProperty([name]);
    }
  });
});
