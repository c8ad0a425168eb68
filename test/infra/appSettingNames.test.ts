// The Terraform and the app must agree on every app setting's name: the settings the Terraform
// computes are handed to the app's own readAppSettings, which records what it reads.
import { beforeAll, describe, expect, it } from "vitest";
import { appSettingNames, hubSettingNames, readAppSettings } from "../../lib/app/settings.js";
import { terraformAppSettings } from "./terraformAppSettings.js";

const keyVaultReference = (secret: string) =>
  `@Microsoft.KeyVault(SecretUri=https://edgeconn.vault.azure.net/secrets/${secret})`;

const hubs = {
  "plant-a": {
    host_name: "plant-a.azure-devices.net",
    events_connection: keyVaultReference("plant-a-events-connection"),
    events_name: "plant-a",
    consumer_group: "iot-edge-connector",
    sku: "S1",
    units: 2,
    base_deployment: false,
  },
  Factory7: {
    host_name: "Factory7.azure-devices.net",
    events_connection: keyVaultReference("Factory7-events-connection"),
    events_name: "factory7",
    consumer_group: "connector",
    sku: "S3",
    units: 1,
    base_deployment: true,
  },
};

/** Settings a Functions host reads for the app (not readAppSettings), with the reason. */
const hostSettings = {
  [`${appSettingNames.storage}__accountName`]: "identity-based AzureWebJobsStorage (host and Durable task hub)",
};

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

describe("app settings made by infra/ (terraform apply of modules/app-settings)", () => {
  let settings: Record<string, string>;
  let read: Set<string>;

  beforeAll(async () => {
    settings = await terraformAppSettings({
      hubs,
      storage_account_name: "edgeconnab12cdsa",
      release_grace_seconds: 90,
      reconcile_schedule: "0 */10 * * * *",
      base_target_condition: "tags.fleet='edge'",
      base_edge_agent_image: "mcr.microsoft.com/azureiotedge-agent:1.5",
      base_edge_hub_image: "mcr.microsoft.com/azureiotedge-hub:1.5",
      // As the app sees it once the platform has resolved the Key Vault reference.
      base_registry_credentials: '{"acr":{"address":"example.azurecr.io","username":"pull","password":"p"}}',
      log_level: "debug",
    });
    const recording = recordingEnvironment(settings);
    read = recording.read;
    readAppSettings(recording.env);
  });

  it("passes the app's own settings check with every hub as given", () => {
    const app = readAppSettings(settings);
    expect(app.hubs).toEqual([
      {
        name: "Factory7",
        hostName: "Factory7.azure-devices.net",
        eventsConnectionSetting: "HUB_FACTORY7_EVENTS_CONNECTION",
        eventsName: "factory7",
        consumerGroup: "connector",
        sku: "S3",
        units: 1,
        baseDeployment: true,
      },
      {
        name: "plant-a",
        hostName: "plant-a.azure-devices.net",
        eventsConnectionSetting: "HUB_PLANT_A_EVENTS_CONNECTION",
        eventsName: "plant-a",
        consumerGroup: "iot-edge-connector",
        sku: "S1",
        units: 2,
        baseDeployment: false,
      },
    ]);
    expect(app.releaseGraceSeconds).toBe(90);
    expect(app.reconcileSchedule).toBe("0 */10 * * * *");
    expect(app.base.targetCondition).toBe("tags.fleet='edge'");
    expect(app.logLevel).toBe("debug");
  });

  it("sets no setting that the app does not read", () => {
    const unread = Object.keys(settings).filter((name) => !read.has(name) && !(name in hostSettings));
    expect(unread).toEqual([]);
  });

  it("sets every setting the app reads, but for the hub connection string a managed identity replaces", () => {
    const missing = [...read].filter((name) => settings[name] === undefined).sort();
    const connectionStrings = Object.keys(hubs).map((hub) => hubSettingNames(hub).connection);
    expect(missing).toEqual(connectionStrings.sort());
  });

  it("names every per-hub setting of lib/app/settings.ts but the connection string", () => {
    for (const hub of Object.keys(hubs)) {
      const { connection, ...others } = hubSettingNames(hub);
      expect(settings[connection]).toBeUndefined();
      for (const name of Object.values(others)) expect(settings, name).toHaveProperty([name]);
    }
  });

  it("names every app-wide setting of lib/app/settings.ts, storage in its identity-based form", () => {
    const { storage, ...others } = appSettingNames;
    expect(settings[storage]).toBeUndefined();
    expect(settings[`${storage}__accountName`]).toBe("edgeconnab12cdsa");
    for (const name of Object.values(others)) expect(settings, name).toHaveProperty([name]);
  });
});
