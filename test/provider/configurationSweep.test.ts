// The sweep's decisions (lib/provider/configurationSweep.ts): what it restarts, sends again, releases
// and adopts, from the scheduler's view, the pod records, ended orchestrations and the hub's list.
import { describe, expect, it } from "vitest";
import type { HubConfiguration } from "../../lib/hub/hubClient.js";
import { baseDeploymentPodKey } from "../../lib/provider/baseDeployment.js";
import { planSweep, type SweepInputs } from "../../lib/provider/configurationSweep.js";
import { podInstanceId, podKey } from "../../lib/provider/podIdentity.js";
import type { PodOrchestrationInput } from "../../lib/provider/podOrchestration.js";
import type { PodRecord } from "../../lib/provider/podRecords.js";
import { holdKey } from "../../lib/scheduler/ownerHolds.js";
import type { HubSchedulerView, ManagedConfiguration } from "../../lib/scheduler/schedulerContract.js";
import { podFixture } from "./providerFixtures.js";

const viewReadAt = new Date("2026-11-25T12:00:00Z");
const before = "2026-11-25T11:59:00.000Z";

function record(name: string, extra: Partial<PodRecord> = {}): PodRecord {
  return {
    hub: "hub1",
    node: "edge-node",
    namespace: "default",
    name,
    uid: `${name}-uid`,
    lifecycle: { stage: "Scheduled", configurationId: "cfg-a", configuration: { phase: "OnHub" } },
    configurationId: "cfg-a",
    containers: [{ name: "sensor", image: "sensor:1" }],
    specHash: "h1",
    version: 3,
    updatedAt: before,
    ...extra,
  };
}

function managed(id: string, pods: string[], phase: "OnHub" | "Creating" = "OnHub"): ManagedConfiguration {
  return {
    id,
    kind: "layered",
    targetCondition: "*",
    priority: 20,
    modules: {},
    images: {},
    pods,
    state: { phase },
  };
}

function view(...configurations: ManagedConfiguration[]): HubSchedulerView {
  return {
    hub: "hub1",
    configurations: Object.fromEntries(configurations.map((c) => [c.id, c])),
    deploymentsOnHub: configurations.length,
    deploymentLimit: 100,
    counters: { creates: 0, deletes: 0, throttled: 0, coalesced: 0 },
  };
}

function onHub(id: string, namespace = "default"): HubConfiguration {
  return {
    id,
    schemaVersion: "1.0",
    etag: "e",
    labels: { "managed-by": "iot-edge-connector", "k8s-namespace": namespace },
    content: { modulesContent: { $edgeAgent: { "properties.desired.modules.sensor": {} } } },
    targetCondition: "*",
    priority: 20,
  };
}

const inputs = (extra: Partial<SweepInputs>): SweepInputs => ({
  hub: "hub1",
  view: view(),
  viewReadAt,
  records: [],
  ended: new Map(),
  onHub: [],
  ...extra,
});

describe("configuration sweep plan", () => {
  it("restarts a live pod's failed orchestration from its last input, to clean up after it", () => {
    const web = record("web");
    const last: PodOrchestrationInput = {
      pod: { hub: "hub1", namespace: "default", name: "web", uid: "web-uid" },
      spec: {
        node: "edge-node",
        pod: podFixture(),
        resolved: { configMaps: {}, secrets: {} },
        specHash: "h2",
      },
      deployedConfigurationId: "cfg-a",
    };
    const plan = planSweep(inputs({ records: [web], ended: new Map([[podInstanceId(web), last]]) }));
    expect(plan.restart).toEqual([{ instanceId: podInstanceId(web), input: { ...last, resumed: true } }]);
  });

  it("finishes the delete of a pod whose deleting orchestration failed, keeping its retain", () => {
    const leaving = record("web", { lifecycle: { stage: "Deleting" } });
    const last = { retain: true, deleting: true } as PodOrchestrationInput;
    const plan = planSweep(inputs({ records: [leaving], ended: new Map([[podInstanceId(leaving), last]]) }));
    expect(plan.restart[0]?.input).toMatchObject({
      deleting: true,
      retain: true,
      deployedConfigurationId: "cfg-a",
    });
  });

  it("sends a running pod its spec again when the scheduler no longer lists it under its configuration", () => {
    const web = record("web");
    const fresh = record("new", { updatedAt: "2026-11-25T12:00:01.000Z" });
    const plan = planSweep(inputs({ records: [web, fresh], view: view(managed("cfg-a", [])) }));
    expect(plan.resync.map((entry) => entry.record.name)).toEqual(["web"]);
  });

  it("releases holders the app no longer knows and base deployments replaced by one on the hub, never holds", () => {
    const web = record("web");
    const hold = holdKey({
      node: "edge-node",
      namespace: "default",
      owner: { kind: "ReplicaSet", name: "rs", uid: "u" },
    });
    const plan = planSweep(
      inputs({
        records: [web],
        baseConfigurationId: "base-2",
        view: view(
          managed("cfg-a", [podKey(web), "default/gone/gone-uid", hold]),
          managed("base-1", [baseDeploymentPodKey("hub1")]),
          managed("base-2", [baseDeploymentPodKey("hub1")]),
        ),
      }),
    );
    expect(plan.release).toEqual([
      { pod: "default/gone/gone-uid", configurationId: "cfg-a" },
      { pod: baseDeploymentPodKey("hub1"), configurationId: "base-1" },
    ]);
  });

  it("keeps the old base deployment while the new one is not on the hub yet", () => {
    const plan = planSweep(
      inputs({
        baseConfigurationId: "base-2",
        view: view(
          managed("base-1", [baseDeploymentPodKey("hub1")]),
          managed("base-2", [baseDeploymentPodKey("hub1")], "Creating"),
        ),
      }),
    );
    expect(plan.release).toEqual([]);
  });

  it("adopts the connector's configurations nobody knows; leaves others', the base and any a pod refers to", () => {
    const web = record("web", { configurationId: "cfg-lost" });
    const foreign = { ...onHub("someone-elses"), labels: {} };
    const plan = planSweep(
      inputs({
        records: [web],
        view: view(managed("cfg-a", [podKey(web)])),
        onHub: [
          onHub("cfg-a"),
          onHub("cfg-orphan"),
          onHub("cfg-lost"),
          foreign,
          onHub("base-x", "iot-edge-connector"),
        ],
      }),
    );
    expect(plan.adopt.map((configuration) => configuration.id)).toEqual(["cfg-orphan"]);
  });
});
