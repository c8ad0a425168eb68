import { describe, expect, it } from "vitest";
import { ConnectorApp } from "../../lib/app/connectorApp.js";
import { readAppSettings } from "../../lib/app/settings.js";
import { LocalTokenIssuer } from "../../dev/simulator/localTokenIssuer.js";
import { defaultNodePolicy } from "../../lib/policy/fleetPolicy.js";

const storage = "UseDevelopmentStorage=true";
/** the settings of one hub, "hub-a", and nothing else */
const hubA = {
  CONNECTOR_HUBS: "hub-a",
  HUB_HUB_A_CONNECTION: "HostName=hub-a.azure-devices.net;SharedAccessKeyName=s;SharedAccessKey=a2V5",
  HUB_HUB_A_EVENTS_CONNECTION: "Endpoint=sb://example/;SharedAccessKeyName=s;SharedAccessKey=a2V5",
  HUB_HUB_A_EVENTS_NAME: "hub-a",
};
const settings = readAppSettings({ ...hubA, HUB_HUB_A_UNITS: "3" });

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
    expect(() => ConnectorApp.fromEnvironment(hubA)).toThrow(/AzureWebJobsStorage: is required/);
  });

  it("takes no new pods while the task hub has more than 20 messages waiting unless TASK_HUB_BACKLOG_LIMIT says otherwise (0: no limit)", () => {
    expect(readAppSettings(hubA).backlogLimit).toBe(20);
    expect(readAppSettings({ ...hubA, TASK_HUB_BACKLOG_LIMIT: "0" }).backlogLimit).toBe(0);
    expect(() => readAppSettings({ ...hubA, TASK_HUB_BACKLOG_LIMIT: "-1" })).toThrow(
      /TASK_HUB_BACKLOG_LIMIT/,
    );
  });

  it("gives a hub the runtime base deployment unless HUB_<NAME>_BASE_DEPLOYMENT is false", () => {
    expect(settings.hubs[0]?.baseDeployment).toBe(true);
    const withoutBase = readAppSettings({ ...hubA, HUB_HUB_A_BASE_DEPLOYMENT: "false" });
    expect(withoutBase.hubs[0]?.baseDeployment).toBe(false);
  });

  it("reaches a hub configured by host name with the hub credential it is given, and names the setting without one", () => {
    const byHostName = readAppSettings({
      CONNECTOR_HUBS: "hub-a",
      HUB_HUB_A_HOSTNAME: "hub-a.azure-devices.net",
      HUB_HUB_A_EVENTS_CONNECTION: "Endpoint=sb://example/;SharedAccessKeyName=s;SharedAccessKey=a2V5",
      HUB_HUB_A_EVENTS_NAME: "hub-a",
    });
    const credential = new LocalTokenIssuer().credential();
    expect(new ConnectorApp(byHostName, storage, credential).hubClient("hub-a").hostName).toBe(
      "hub-a.azure-devices.net",
    );
    expect(() => new ConnectorApp(byHostName, storage).hubClient("hub-a")).toThrow(
      /HUB_HUB_A_HOSTNAME \(managed identity\) needs a credential/,
    );
  });

  it("builds from settings with no key anywhere: storage, hub and events by the app's managed identity", () => {
    const app = ConnectorApp.fromEnvironment({
      AzureWebJobsStorage__accountName: "connstore1",
      CONNECTOR_HUBS: "hub-a",
      HUB_HUB_A_HOSTNAME: "hub-a.azure-devices.net",
      HUB_HUB_A_EVENTS_CONNECTION__fullyQualifiedNamespace: "ihsuprod-a.servicebus.windows.net",
      HUB_HUB_A_EVENTS_NAME: "hub-a",
    });
    expect(app.hubClient("hub-a").hostName).toBe("hub-a.azure-devices.net");
  });

  it("checks CONNECTOR_NODES: each node's hub must be served and no key may open two nodes", () => {
    const hash = "a".repeat(64);
    const nodes = [
      { cluster: "c1", hub: "hub-a", node: "n1", keySha256: hash },
      { cluster: "c1", hub: "hub-z", node: "n2", keySha256: hash },
      { cluster: "Not A Label", hub: "hub-a", node: "n3", keySha256: "b".repeat(64) },
    ];
    const read = (value: string) => readAppSettings({ ...hubA, CONNECTOR_NODES: value });
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

describe("the fleet policy setting", () => {
  const hub = hubA;

  it("gives each node its policy, the default without FLEET_POLICY, and nothing to a node it leaves out", () => {
    const written = new ConnectorApp(
      readAppSettings({ ...hub, FLEET_POLICY: "nodes: { plant-a: { namespaces: { line-1: {} } } }" }),
      storage,
    );
    expect(written.nodePolicy("plant-a")).toEqual({ namespaces: { "line-1": { grants: [] } } });
    expect(written.nodePolicy("plant-b")).toEqual({ namespaces: {} });
    expect(new ConnectorApp(readAppSettings(hub), storage).nodePolicy("plant-a")).toBe(defaultNodePolicy);
  });

  it("refuses to start on a bad policy, naming the setting and the field", () => {
    expect(() =>
      readAppSettings({
        ...hub,
        FLEET_POLICY: "nodes: { plant-a: { namespaces: { line-1: { priority: { max: -1 } } } } }",
      }),
    ).toThrow(/^invalid app settings: FLEET_POLICY: nodes.plant-a.namespaces.line-1.priority.max: /);
  });
});
