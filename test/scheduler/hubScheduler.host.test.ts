// The scheduler entity, its applier and activities running in the local host (Azurite for durable
// state) against simulated hubs with real SKU limits, driven by stand-in pod orchestrations that use
// the same helpers as the app's pod orchestrations (fixtures/app/standInPods.ts).
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { hubSettingNames } from "../../lib/app/settings.js";
import { createHubClient } from "../../lib/hub/createHubClient.js";
import type { ConfigurationPhase, WantConfiguration } from "../../lib/scheduler/schedulerContract.js";
import type { SchedulerState } from "../../lib/scheduler/schedulerState.js";
import type { RunningSimulator } from "../../dev/simulator/simulator.js";
import { startLocalAzurite, type LocalAzurite } from "../../dev/localAzurite.js";
import { startHostProcess, type HostProcess } from "../../dev/host/hostProcess.js";
import { baseDeployment } from "../support/deployments.js";
import { eventually, startTestSimulator } from "../support/testSimulator.js";
import { replicaPod, replicaWants, wantOf, type Workload } from "./replicaPods.js";

const appDir = path.join(import.meta.dirname, "fixtures/app");
const graceSeconds = 6;

interface StandInStatus {
  runtimeStatus: string;
  output: ConfigurationPhase | null;
  customStatus: ConfigurationPhase | null;
}

describe("hub scheduler in the local host", { timeout: 120_000 }, () => {
  let azurite: LocalAzurite;
  let host: HostProcess;
  let workDir: string;
  const hubs: Record<string, RunningSimulator> = {};

  beforeAll(async () => {
    azurite = await startLocalAzurite();
    // hub-a's limits are the app's (S1): the simulator enforces none, so that the test's own reads of
    // the hub do not spend the budget the scheduler plans with; forced 429s still reach it.
    hubs["hub-a"] = await startTestSimulator({ hubName: "hub-a", sku: "unlimited" });
    hubs["hub-b"] = await startTestSimulator({ hubName: "hub-b", sku: "S1" });
    hubs["hub-f"] = await startTestSimulator({ hubName: "hub-f", sku: "F1" });
    // Deployments someone else owns fill 8 of the free hub's 10 slots.
    const other = createHubClient(hubs["hub-f"].iotHubConnectionString);
    for (let i = 0; i < 8; i++) {
      const deployment = baseDeployment(`someone-elses-${i}`, {
        targetCondition: "tags.team='other'",
        modules: {},
      });
      await other.createConfiguration({
        id: deployment.id,
        content: deployment.content ?? {},
        targetCondition: deployment.targetCondition ?? "",
        priority: deployment.priority ?? 0,
      });
    }
    other.close();

    const values: Record<string, string> = {
      AzureWebJobsStorage: azurite.connectionString,
      CONNECTOR_HUBS: Object.keys(hubs).join(","),
      CONFIGURATION_RELEASE_GRACE_SECONDS: String(graceSeconds),
    };
    for (const [name, simulator] of Object.entries(hubs)) {
      const names = hubSettingNames(name);
      values[names.connection] = simulator.iotHubConnectionString;
      values[names.eventsConnection] = simulator.eventHubConnectionString;
      values[names.eventsName] = name;
      values[names.sku] = name === "hub-f" ? "F1" : "S1";
    }
    workDir = mkdtempSync(path.join(tmpdir(), "hub-scheduler-"));
    const settingsFile = path.join(workDir, "local.settings.json");
    writeFileSync(settingsFile, JSON.stringify({ IsEncrypted: false, Values: values }));
    host = await startHostProcess({ appDir, settingsFile, env: { LOG_LEVEL: "info" } });
  });

  afterAll(async () => {
    await host?.stop();
    for (const simulator of Object.values(hubs)) await simulator.stop();
    await azurite?.stop();
    if (workDir) rmSync(workDir, { recursive: true, force: true });
  });

  const instanceOf = (pod: string) => pod.replace(/[^A-Za-z0-9-]/g, "-");

  async function startStandIn(orchestrator: string, instanceId: string, input: unknown) {
    const response = await fetch(`${host.url}/api/standins/${orchestrator}/${instanceId}`, {
      method: "POST",
      body: JSON.stringify(input),
    });
    expect(response.status).toBe(202);
  }

  async function standIn(instanceId: string): Promise<StandInStatus> {
    const response = await fetch(`${host.url}/api/standins/${instanceId}`);
    return (await response.json()) as StandInStatus;
  }

  async function completed(instanceId: string, attempts = 600): Promise<StandInStatus> {
    return eventually(
      () => standIn(instanceId),
      (s) => s.runtimeStatus === "Completed" || s.runtimeStatus === "Failed",
      { attempts, intervalMs: 100 },
    );
  }

  /** Starts a stand-in pod per want; resolves their instance ids. */
  async function wantAll(hub: string, wants: WantConfiguration[]): Promise<string[]> {
    const ids = wants.map((w) => `want-${instanceOf(w.pod)}`);
    await Promise.all(wants.map((want, i) => startStandIn("standInPod", ids[i]!, { hub, want })));
    return ids;
  }

  async function releaseAll(hub: string, wants: WantConfiguration[]): Promise<void> {
    const ids = wants.map((w) => `release-${instanceOf(w.pod)}-${w.configuration.id}`);
    await Promise.all(
      wants.map((w, i) =>
        startStandIn("standInRelease", ids[i]!, {
          hub,
          release: { pod: w.pod, configurationId: w.configuration.id },
        }),
      ),
    );
    for (const id of ids) expect((await completed(id)).runtimeStatus).toBe("Completed");
  }

  async function scheduler(hub: string): Promise<SchedulerState> {
    const response = await fetch(`${host.url}/api/schedulers/${hub}`);
    expect(response.status).toBe(200);
    return (await response.json()) as SchedulerState;
  }

  async function idsOnHub(hub: string): Promise<string[]> {
    const client = createHubClient(hubs[hub]!.iotHubConnectionString);
    try {
      return (await client.listConfigurations()).map((c) => c.id);
    } finally {
      client.close();
    }
  }

  const stats = (hub: string) => hubs[hub]!.stats.operations;
  const web: Workload = { name: "web", image: "contoso/web:1.0" };

  it("creates one configuration for a Deployment's 20 replicas and tells every pod it is on the hub", async () => {
    const wants = replicaWants(web, 20, "hub-a");
    const ids = await wantAll("hub-a", wants);
    for (const id of ids) expect((await completed(id)).output).toEqual({ phase: "OnHub" });
    expect(stats("hub-a").addOrUpdateConfiguration).toBe(1);
    expect(await idsOnHub("hub-a")).toEqual([wants[0]!.configuration.id]);
    const state = await scheduler("hub-a");
    expect(state.configurations[wants[0]!.configuration.id]?.pods).toHaveLength(20);
    expect(state.counters).toMatchObject({ creates: 1, coalesced: 19 });
  });

  it("neither deletes nor creates when every replica is released and wanted again within the grace", async () => {
    const wants = replicaWants(web, 20, "hub-a");
    await releaseAll("hub-a", wants);
    const replacements = wants.map((w, i) => ({ ...w, pod: `default/web-again-${i}/uid-again-${i}` }));
    const ids = await wantAll("hub-a", replacements);
    for (const id of ids) expect((await completed(id)).output).toEqual({ phase: "OnHub" });
    // past the grace period: the applier had its chance to delete
    await new Promise((resolve) => setTimeout(resolve, (graceSeconds + 2) * 1000));
    expect(stats("hub-a").addOrUpdateConfiguration).toBe(1);
    expect(stats("hub-a").removeConfiguration).toBeUndefined();
    expect(await idsOnHub("hub-a")).toEqual([wants[0]!.configuration.id]);
  });

  it("deletes the configuration after the grace period once the last pod released it", async () => {
    const wants = replicaWants(web, 20, "hub-a").map((w, i) => ({
      ...w,
      pod: `default/web-again-${i}/uid-again-${i}`,
    }));
    const releasing = Date.now();
    await releaseAll("hub-a", wants);
    const id = wants[0]!.configuration.id;
    // Under load the 20 releases may take longer than the grace; while it lasts, the state says so.
    const phase = (await scheduler("hub-a")).configurations[id]?.state.phase;
    if (Date.now() - releasing < graceSeconds * 1000) expect(phase).toBe("Releasing");
    await eventually(
      () => idsOnHub("hub-a"),
      (ids) => !ids.includes(id),
      { attempts: 150, intervalMs: 200 },
    );
    // never before the grace: a lower bound, which a slow machine cannot break
    expect(Date.now() - releasing).toBeGreaterThanOrEqual(graceSeconds * 1000);
    expect(stats("hub-a").removeConfiguration).toBe(1);
    // the applier reports the delete to the entity after the hub has answered
    await eventually(
      () => scheduler("hub-a"),
      (state) => state.configurations[id] === undefined,
      { attempts: 150, intervalMs: 200 },
    );
  });

  it("creates a pod's new configuration before deleting the one it replaces, even when the create is held up", async () => {
    const pod = replicaPod({ name: "api", image: "contoso/api:1.0" }, 0);
    const old = wantOf(pod, "hub-a");
    expect((await completed((await wantAll("hub-a", [old]))[0]!)).output).toEqual({ phase: "OnHub" });
    const changed = wantOf(
      { ...pod, spec: { containers: [{ name: "sensor", image: "contoso/api:2.0" }] } },
      "hub-a",
    );
    // The new one's create is throttled for longer than the grace: the old must wait for it.
    hubs["hub-a"]!.faults.throttleNext(1, graceSeconds + 3);
    const [waiting] = await wantAll("hub-a", [{ ...changed, pod: old.pod }]);
    // the hub refused the create: the scheduler holds it for longer than the grace
    await eventually(
      () => scheduler("hub-a"),
      (state) => state.counters.throttled >= 1,
      {
        attempts: 300,
        intervalMs: 50,
      },
    );
    await releaseAll("hub-a", [old]);
    const observations: string[][] = [];
    await eventually(
      async () => {
        const ids = await idsOnHub("hub-a");
        observations.push(ids);
        return ids;
      },
      (ids) => !ids.includes(old.configuration.id),
      { attempts: 150, intervalMs: 200 },
    );
    expect(observations.some((ids) => !ids.includes(changed.configuration.id))).toBe(true); // it was held up
    expect(
      observations.every(
        (ids) => ids.includes(old.configuration.id) || ids.includes(changed.configuration.id),
      ),
    ).toBe(true);
    expect((await completed(waiting!)).output).toEqual({ phase: "OnHub" });
  });

  it("says HubDeploymentLimit on a full hub, counting deployments it does not own, and goes ahead when one is released", async () => {
    const wants = ["one", "two", "three"].map(
      (name) => replicaWants({ name, image: "img:1" }, 1, "hub-f")[0]!,
    );
    const [first, second] = await wantAll("hub-f", wants.slice(0, 2));
    for (const id of [first!, second!]) expect((await completed(id)).output).toEqual({ phase: "OnHub" });
    const [third] = await wantAll("hub-f", wants.slice(2));
    const limited = await eventually(
      () => standIn(third!),
      (s) => s.customStatus !== null,
      { attempts: 300, intervalMs: 100 },
    );
    expect(limited.customStatus).toEqual({ phase: "HubDeploymentLimit", used: 10, limit: 10 });
    await releaseAll("hub-f", wants.slice(0, 1));
    expect((await completed(third!)).output).toEqual({ phase: "OnHub" });
    const onHub = await idsOnHub("hub-f");
    expect(onHub).toHaveLength(10);
    expect(onHub).not.toContain(wants[0]!.configuration.id);
  });

  it("does not delay one hub while another is throttled", async () => {
    hubs["hub-b"]!.faults.throttleNext(2, 5);
    const [onB] = await wantAll("hub-b", replicaWants({ name: "slow", image: "img:1" }, 1, "hub-b"));
    await eventually(
      () => scheduler("hub-b").catch(() => undefined),
      (s) => (s?.counters.throttled ?? 0) >= 1,
      {
        attempts: 300,
        intervalMs: 50,
      },
    );
    const [onA] = await wantAll("hub-a", replicaWants({ name: "fast", image: "img:1" }, 1, "hub-a"));
    expect((await completed(onA!)).output).toEqual({ phase: "OnHub" });
    // hub-b still holds back: its pod has not landed yet
    expect((await standIn(onB!)).runtimeStatus).not.toBe("Completed");
    expect((await completed(onB!)).output).toEqual({ phase: "OnHub" });
    expect((await scheduler("hub-b")).counters.throttled).toBe(2);
  });

  it("creates 10 configurations for 10 Deployments x 20 replicas on S1 x 1, absorbing 429s", async () => {
    const before = stats("hub-b").addOrUpdateConfiguration ?? 0;
    const throttledBefore = (await scheduler("hub-b")).counters.throttled;
    hubs["hub-b"]!.faults.throttleNext(3, 1);
    const wants = Array.from({ length: 10 }, (_, d) =>
      replicaWants({ name: `fleet${d}`, image: "contoso/fleet:1.0" }, 20, "hub-b"),
    ).flat();
    const ids = await wantAll("hub-b", wants);
    const outputs = [];
    for (const id of ids) outputs.push((await completed(id, 1200)).output);
    expect(outputs.every((o) => o?.phase === "OnHub")).toBe(true);
    expect((stats("hub-b").addOrUpdateConfiguration ?? 0) - before).toBe(10);
    const state = await scheduler("hub-b");
    expect(state.counters.throttled - throttledBefore).toBe(3);
    expect(state.counters.coalesced).toBeGreaterThanOrEqual(190);
  });
});
