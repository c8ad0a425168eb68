import { describe, expect, it } from "vitest";
import { ConnectorApp } from "../../lib/app/connectorApp.js";
import { readAppSettings } from "../../lib/app/settings.js";

const storage = "UseDevelopmentStorage=true";
const settings = readAppSettings({
  CONNECTOR_HUBS: "hub-a",
  HUB_HUB_A_CONNECTION: "HostName=hub-a.azure-devices.net;SharedAccessKeyName=s;SharedAccessKey=a2V5",
  HUB_HUB_A_EVENTS_CONNECTION: "Endpoint=sb://example/;SharedAccessKeyName=s;SharedAccessKey=a2V5",
  HUB_HUB_A_EVENTS_NAME: "hub-a",
  HUB_HUB_A_UNITS: "3",
});

describe("the app's process-wide objects", () => {
  it("derives the scheduler's budget from the hub's SKU and units and refuses a hub the app does not know", () => {
    const app = new ConnectorApp(settings, storage);
    expect(app.schedulerSettings("hub-a")).toEqual({
      hub: "hub-a",
      budget: { perMinute: 60, burst: 60, deploymentLimit: 100 },
      graceSeconds: 60,
    });
    expect(() => app.schedulerSettings("hub-z")).toThrow('hub "hub-z" is not among the app\'s hubs');
  });

  it("keeps one hub client and one single-attempt connector per hub", () => {
    const app = new ConnectorApp(settings, storage);
    expect(app.hubClient("hub-a")).toBe(app.hubClient("hub-a"));
    expect(app.hubConnector("hub-a")).toBe(app.hubConnector("hub-a"));
  });

  it("names the storage setting when it is missing", () => {
    expect(() =>
      ConnectorApp.fromEnvironment({
        CONNECTOR_HUBS: "hub-a",
        HUB_HUB_A_CONNECTION: "HostName=hub-a.azure-devices.net;SharedAccessKeyName=s;SharedAccessKey=a2V5",
        HUB_HUB_A_EVENTS_CONNECTION: "Endpoint=sb://example/;SharedAccessKeyName=s;SharedAccessKey=a2V5",
        HUB_HUB_A_EVENTS_NAME: "hub-a",
      }),
    ).toThrow(/AzureWebJobsStorage is required/);
  });

  it("checks CONNECTOR_NODES: each node's hub must be served and no key may open two nodes", () => {
    const hash = "a".repeat(64);
    const nodes = [
      { cluster: "c1", hub: "hub-a", node: "n1", keySha256: hash },
      { cluster: "c1", hub: "hub-z", node: "n2", keySha256: hash },
      { cluster: "Not A Label", hub: "hub-a", node: "n3", keySha256: "b".repeat(64) },
    ];
    const read = (value: string) =>
      readAppSettings({
        CONNECTOR_HUBS: "hub-a",
        HUB_HUB_A_CONNECTION: "HostName=hub-a.azure-devices.net;SharedAccessKeyName=s;SharedAccessKey=a2V5",
        HUB_HUB_A_EVENTS_CONNECTION: "Endpoint=sb://example/;SharedAccessKeyName=s;SharedAccessKey=a2V5",
        HUB_HUB_A_EVENTS_NAME: "hub-a",
        CONNECTOR_NODES: value,
      });
    expect(() => read(JSON.stringify(nodes.slice(0, 2)))).toThrow(
      'CONNECTOR_NODES[1].hub: "hub-z" is not one of CONNECTOR_HUBS; CONNECTOR_NODES[1].keySha256: is registered twice',
    );
    expect(() => read(JSON.stringify(nodes.slice(2)))).toThrow(
      "CONNECTOR_NODES[0.cluster]: must be a DNS label",
    );
    expect(() => read("not json")).toThrow("CONNECTOR_NODES: is not valid JSON");
    expect(read(JSON.stringify(nodes.slice(0, 1))).nodes).toEqual(nodes.slice(0, 1));
  });
});
