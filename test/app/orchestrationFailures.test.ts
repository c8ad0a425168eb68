// Pod orchestrations that fail at a step, in the local host with the app's own registrations and the
// configuration sweep (timer every 10 s), then the pod is deleted or updated: in the end the hub holds
// exactly the configurations live pods want (and the app's base deployment). Failures come through
// real seams: the pod records' table deleted from Azurite (the record activity fails until its
// retries run out and the orchestration fails), or a hub outage holding an update while its
// orchestration is terminated through the durable runtime's own API.
import { TableClient } from "@azure/data-tables";
import { afterEach, describe, expect, it } from "vitest";
import { podInstanceId } from "../../lib/provider/podIdentity.js";
import { podTableName, PodRecords } from "../../lib/provider/podRecords.js";
import type { SchedulerState } from "../../lib/scheduler/schedulerState.js";
import { eventually } from "../adapter/support/eventually.js";
import { podFixture } from "../provider/providerFixtures.js";
import { hub, masterKey, startAppHarness, type AppHarness } from "./appHarness.js";

/** The record activity's retries (2 s doubling, six attempts) take about a minute to run out. */
const untilRetriesRunOut = { attempts: 120, intervalMs: 1_000 };

describe("orchestration failures, then delete or update, then the sweep", { timeout: 360_000 }, () => {
  let harness: AppHarness | undefined;

  afterEach(async () => {
    await harness?.stop();
    harness = undefined;
  });

  async function start(): Promise<AppHarness> {
    // every 10 s: each status reconcile charges the hub's query budget, which the scheduler's
    // configuration operations share (20 a minute), so every 2 s would starve them. The purge only
    // once a year: at its default (every minute) a Failed orchestration is gone at the next minute,
    // so a failure just before it left a window shorter than the 1 s poll (a CI run missed it).
    harness = await startAppHarness({
      env: { RECONCILE_SCHEDULE: "*/10 * * * * *", PURGE_SCHEDULE: "0 0 0 1 1 *" },
    });
    return harness;
  }

  const pod = (name: string, image = "1.5") =>
    podFixture({
      name,
      uid: `uid-${name}`,
      container: name,
      image: `mcr.microsoft.com/azureiotedge-simulated-temperature-sensor:${image}`,
    });
  const instanceOf = (name: string) => podInstanceId({ hub, namespace: "default", name, uid: `uid-${name}` });
  const recordsTable = (app: AppHarness) =>
    TableClient.fromConnectionString(app.storageConnectionString, podTableName, {
      allowInsecureConnection: true,
    });

  async function durable(app: AppHarness, path: string, init?: RequestInit): Promise<Response> {
    const separator = path.includes("?") ? "&" : "?";
    return fetch(`${app.host().url}/runtime/webhooks/durabletask/${path}${separator}code=${masterKey}`, init);
  }
  async function runtimeStatus(app: AppHarness, name: string): Promise<string> {
    const response = await durable(app, `instances/${instanceOf(name)}`);
    return ((await response.json()) as { runtimeStatus: string }).runtimeStatus;
  }
  async function schedulerState(app: AppHarness): Promise<SchedulerState> {
    const response = await durable(app, `entities/hubScheduler/${hub}`);
    expect(response.status).toBe(200);
    return (await response.json()) as SchedulerState;
  }
  /** The configurations that list the pod in the scheduler's state. */
  async function holdsOf(app: AppHarness, name: string): Promise<string[]> {
    const { configurations } = await schedulerState(app);
    return Object.values(configurations)
      .filter((configuration) => configuration.pods.includes(`default/${name}/uid-${name}`))
      .map((configuration) => configuration.id);
  }
  const onHub = async (app: AppHarness) =>
    (await app.hubClient.listConfigurations()).map((configuration) => configuration.id).sort();

  /**
   * The configuration the pod's record names (deployed, or waited for), read from the table: the
   * pod status API would charge hub queries to the scheduler's budget on every poll.
   */
  async function recordedConfiguration(app: AppHarness, name: string): Promise<string | undefined> {
    const records = PodRecords.fromConnectionString(app.storageConnectionString);
    return (await records.get({ hub, namespace: "default", name, uid: `uid-${name}` }))?.configurationId;
  }

  /** The pod's configuration, once its record names it and the hub has it. */
  const deployed = (app: AppHarness, name: string) =>
    eventually(async () => {
      const configurationId = await recordedConfiguration(app, name);
      expect(configurationId).toBeDefined();
      expect(await onHub(app)).toContain(configurationId);
      return configurationId!;
    });

  /** After the sweep: the hub holds what the live pods want and the base deployment, nothing else. */
  async function expectHubMatches(app: AppHarness, livePods: string[]): Promise<void> {
    await eventually(
      async () => {
        const wanted = await Promise.all(livePods.map((name) => recordedConfiguration(app, name)));
        const base = Object.values((await schedulerState(app)).configurations)
          .filter((configuration) => configuration.kind === "base")
          .map((configuration) => configuration.id);
        expect(wanted).not.toContain(undefined);
        expect(await onHub(app)).toEqual([...new Set([...wanted, ...base])].sort());
      },
      // the hub's outage spent the scheduler's budget of configuration operations (20 a minute)
      { attempts: 120, intervalMs: 1_000 },
    );
  }

  const update = (app: AppHarness, name: string, image: string) =>
    app.putPod(pod(name, image)).then((response) => expect(response.ok).toBe(true));
  const remove = (app: AppHarness, name: string) =>
    app.call(`${hub}/namespaces/default/pods/${name}?uid=uid-${name}`, { method: "DELETE" });

  it("fails after `want` and before its first record: the pod then deleted holds nothing, the pod then updated only its new configuration", async () => {
    const app = await start();
    for (const name of ["gone", "changed"]) expect((await app.putPod(pod(name))).ok).toBe(true);
    // the records' table vanishes before either orchestration writes its first stage
    await recordsTable(app).deleteTable();
    for (const name of ["gone", "changed"])
      await eventually(async () => expect(await runtimeStatus(app, name)).toBe("Failed"), untilRetriesRunOut);
    for (const name of ["gone", "changed"]) expect(await holdsOf(app, name)).toHaveLength(1);
    await recordsTable(app).createTable();

    // the record was lost with its table: the delete finds no pod, the update starts it anew
    expect((await remove(app, "gone")).status).toBe(404);
    await update(app, "changed", "1.6");

    await expectHubMatches(app, ["changed"]);
  });

  it("fails during an update (the record holds the new configuration, the old one only the input): the pod then deleted holds nothing, the pod then updated only its newest configuration", async () => {
    const app = await start();
    const records = PodRecords.fromConnectionString(app.storageConnectionString);
    const old = new Map<string, string>();
    for (const name of ["dropped", "moved"]) {
      expect((await app.putPod(pod(name))).ok).toBe(true);
      old.set(name, await deployed(app, name));
    }
    // the hub refuses everything, so the new configurations wait while the old ones stay
    app.simulator.faults.outage({ status: 503 });
    for (const name of ["dropped", "moved"]) {
      await update(app, name, "1.6");
      await eventually(async () => {
        const record = await records.get({ hub, namespace: "default", name, uid: `uid-${name}` });
        expect(record?.lifecycle.stage).toBe("Scheduled");
        expect(record?.configurationId).not.toBe(old.get(name));
      });
      const terminated = await durable(app, `instances/${instanceOf(name)}/terminate?reason=injected`, {
        method: "POST",
      });
      expect(terminated.status).toBe(202);
      // a bound, not a measure: a loaded local host took over 30 s to apply the termination
      await eventually(
        async () => expect(await runtimeStatus(app, name)).toBe("Terminated"),
        untilRetriesRunOut,
      );
      expect(await holdsOf(app, name)).toHaveLength(2);
    }
    app.simulator.faults.outage(undefined);

    expect((await remove(app, "dropped")).ok).toBe(true);
    await update(app, "moved", "1.7");

    await expectHubMatches(app, ["moved"]);
  });

  it("fails while deleting (its record writes fail, before or after its release): the pod holds nothing after the sweep", async () => {
    const app = await start();
    expect((await app.putPod(pod("leaving"))).ok).toBe(true);
    await deployed(app, "leaving");

    expect((await remove(app, "leaving")).ok).toBe(true);
    // the table vanishes before the orchestration records the pod as deleting
    await recordsTable(app).deleteTable();
    await eventually(
      async () => expect(await runtimeStatus(app, "leaving")).toBe("Failed"),
      untilRetriesRunOut,
    );
    await recordsTable(app).createTable();

    await expectHubMatches(app, []);
  });
});
