// The configuration sweep's rule over a scheduler view and pod records, with the orchestration
// runtime and the scheduler's release given as plain functions (the host test runs them for real:
// test/app/configurationSweep.test.ts).
import { describe, expect, it } from "vitest";
import { sweepConfigurations } from "../../lib/provider/configurationSweep.js";
import { podInstanceId } from "../../lib/provider/podIdentity.js";
import type { PodRecord } from "../../lib/provider/podRecords.js";
import type { PodLifecycle } from "../../lib/status/statusContract.js";
import type {
  HubSchedulerView,
  ManagedConfiguration,
  ReleaseConfiguration,
} from "../../lib/scheduler/schedulerContract.js";

const HUB = "hub1";

function configuration(
  id: string,
  pods: string[],
  kind: "base" | "layered" = "layered",
): ManagedConfiguration {
  return {
    id,
    kind,
    targetCondition: "tags.environment='dev'",
    priority: 10,
    modules: {},
    images: {},
    pods,
    state: { phase: "OnHub" },
  };
}

function record(name: string, lifecycle: PodLifecycle, configurationId?: string): PodRecord {
  return {
    hub: HUB,
    node: "edge-node",
    namespace: "default",
    name,
    uid: `uid-${name}`,
    lifecycle,
    ...(configurationId !== undefined && { configurationId }),
    containers: [],
    specHash: "h",
    version: 1,
    updatedAt: "2026-12-03T12:00:00Z",
  };
}

const key = (name: string) => `default/${name}/uid-${name}`;
const instance = (name: string) =>
  podInstanceId({ hub: HUB, namespace: "default", name, uid: `uid-${name}` });
const onHub = (id: string): PodLifecycle => ({
  stage: "Scheduled",
  configurationId: id,
  configuration: { phase: "OnHub" },
});

async function sweep(
  configurations: ManagedConfiguration[] | undefined,
  records: PodRecord[],
  running: string[] = [],
) {
  const view: HubSchedulerView | undefined = configurations && {
    hub: HUB,
    configurations: Object.fromEntries(configurations.map((c) => [c.id, c])),
    deploymentsOnHub: configurations.length,
    deploymentLimit: 100,
    counters: { creates: 0, deletes: 0, throttled: 0, coalesced: 0 },
  };
  const releases: ReleaseConfiguration[] = [];
  const result = await sweepConfigurations({
    hub: HUB,
    readView: () => Promise.resolve(view),
    listRecords: () => Promise.resolve(records),
    isRunning: (id) => Promise.resolve(running.map(instance).includes(id)),
    release: (request) => {
      releases.push(request);
      return Promise.resolve();
    },
  });
  expect(result.released).toEqual(releases);
  return releases;
}

describe("configuration sweep", () => {
  it("keeps every hold a pod's record names, deployed or waited for, with or without its orchestration", async () => {
    const released = await sweep(
      [configuration("k8s-a", [key("deployed"), key("waiting")])],
      [
        record("deployed", onHub("k8s-a"), "k8s-a"),
        record("waiting", {
          stage: "Scheduled",
          configurationId: "k8s-a",
          configuration: { phase: "Creating" },
        }),
      ],
    );
    expect(released).toEqual([]);
  });

  it("keeps the hold of a pod whose orchestration runs, though its record does not name it yet", async () => {
    const released = await sweep(
      [configuration("k8s-a", [key("starting")])],
      [record("starting", { stage: "Accepted" })],
      ["starting"],
    );
    expect(released).toEqual([]);
  });

  it("releases what an orchestration that ended between want and its first record held", async () => {
    const released = await sweep(
      [configuration("k8s-a", [key("failed"), key("kept")])],
      [record("failed", { stage: "Accepted" }), record("kept", onHub("k8s-a"), "k8s-a")],
    );
    expect(released).toEqual([{ pod: key("failed"), configurationId: "k8s-a" }]);
  });

  it("releases the old configuration of an update that ended after recording the new one, and keeps the new", async () => {
    const released = await sweep(
      [configuration("k8s-old", [key("updated")]), configuration("k8s-new", [key("updated")])],
      [record("updated", onHub("k8s-new"), "k8s-new")],
    );
    expect(released).toEqual([{ pod: key("updated"), configurationId: "k8s-old" }]);
  });

  it("keeps an update's old configuration while the new one waits for the hub", async () => {
    const waiting = { ...configuration("k8s-new", [key("updated")]), state: { phase: "Creating" as const } };
    const released = await sweep(
      [configuration("k8s-old", [key("updated")]), waiting],
      [
        record(
          "updated",
          { stage: "Scheduled", configurationId: "k8s-new", configuration: { phase: "Creating" } },
          "k8s-new",
        ),
      ],
    );
    expect(released).toEqual([]);
  });

  it("releases what a pod being deleted still held when its orchestration ended, and what no record names", async () => {
    const released = await sweep(
      [configuration("k8s-a", [key("deleting"), key("forgotten")])],
      [record("deleting", { stage: "Deleting" }, "k8s-a")],
    );
    expect(released).toEqual([
      { pod: key("deleting"), configurationId: "k8s-a" },
      { pod: key("forgotten"), configurationId: "k8s-a" },
    ]);
  });

  it("leaves the app's base deployment and a scheduler that never ran alone", async () => {
    expect(
      await sweep([configuration("base-hub1", ["iot-edge-connector/base-deployment/hub1"], "base")], []),
    ).toEqual([]);
    expect(await sweep(undefined, [])).toEqual([]);
  });
});
