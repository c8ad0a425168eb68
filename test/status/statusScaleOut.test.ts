// The status pipeline on several app instances, as the Event Hubs trigger scales out on Azure: three
// local hosts run the twin-events function on one Azurite and share the hub's four partitions; one
// is SIGKILLed while devices report. Every configuration's stored counts (what the provider API
// shows a pod) must end equal to the truth computed from the simulator's twins, and the reconcile
// timer in a process that owns no partition must change nothing that is right.
import { EventHubConsumerClient } from "@azure/event-hubs";
import { BlobCheckpointStore } from "@azure/eventhubs-checkpointstore-blob";
import { ContainerClient } from "@azure/storage-blob";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { HostProcess } from "../../dev/host/hostProcess.js";
import { startLocalAzurite, type LocalAzurite } from "../../dev/localAzurite.js";
import type { RunningSimulator } from "../../dev/simulator/simulator.js";
import { createHubClient } from "../../lib/hub/createHubClient.js";
import type { HubClient } from "../../lib/hub/hubClient.js";
import type { ManagedConfiguration } from "../../lib/scheduler/schedulerContract.js";
import { HubStatusRegistry } from "../../lib/status/hubStatusRegistry.js";
import { reconcileWithHubMetrics } from "../../lib/status/metricsReconcile.js";
import type { FleetCounts, FleetStatus } from "../../lib/status/statusContract.js";
import { StatusStore } from "../../lib/status/statusStore.js";
import { startAppHost } from "../support/appHost.js";
import { baseDeployment } from "../support/deployments.js";
import { fleetTruth, type TruthConfiguration } from "../support/fleetTruth.js";
import { schedulerView, seedSchedulerView } from "../support/schedulerViewSeed.js";
import { eventually, startTestSimulator } from "../support/testSimulator.js";

const hubName = "scale-hub";
const sites = ["north", "south", "east"];
const deviceIds = Array.from({ length: 36 }, (_, i) => `edge-${String(i).padStart(2, "0")}`);
const siteOf = (i: number) => sites[i % sites.length]!;
const configurations: TruthConfiguration[] = sites.map((site) => ({
  id: `c-${site}`,
  site,
  modules: ["sensor"],
}));
// Ownership expires within seconds here (the real default is 2 minutes), so the test sees a takeover.
const ownershipExpiryMs = 4_000;
const fastBalancing = {
  AzureFunctionsJobHost__extensions__eventHubs__loadBalancingUpdateInterval: "00:00:01",
  AzureFunctionsJobHost__extensions__eventHubs__partitionOwnershipExpirationInterval: "00:00:04",
};

function managed(configuration: TruthConfiguration): ManagedConfiguration {
  return {
    id: configuration.id,
    kind: "base",
    targetCondition: `tags.site = '${configuration.site}'`,
    priority: 10,
    modules: { sensor: "sensor" },
    images: { sensor: `example/sensor:${configuration.site}` },
    pods: [`default/${configuration.id}/uid-1`],
    state: { phase: "OnHub" },
  };
}

describe("status with three app instances sharing the hub's partitions", { timeout: 150_000 }, () => {
  let azurite: LocalAzurite;
  let simulator: RunningSimulator;
  let hub: HubClient;
  let store: StatusStore;
  const hosts: HostProcess[] = [];

  const truth = () =>
    Object.fromEntries(configurations.map((c) => [c.id, fleetTruth(simulator, deviceIds, c)]));
  const stored = async (): Promise<Record<string, FleetCounts | undefined>> => {
    const statuses = await store.fleetStatuses(
      hubName,
      configurations.map((c) => c.id),
    );
    return Object.fromEntries(configurations.map((c) => [c.id, statuses.get(c.id)?.counts]));
  };

  /** The owner of each partition, as the hosts' load balancing recorded it in blob storage. */
  async function partitionOwners(): Promise<Map<string, string>> {
    const probe = new EventHubConsumerClient("$Default", simulator.eventHubConnectionString);
    const checkpoints = new BlobCheckpointStore(
      new ContainerClient(azurite.connectionString, "azure-webjobs-eventhub"),
    );
    try {
      const owned = await checkpoints.listOwnership(probe.fullyQualifiedNamespace, hubName, "$Default");
      const live = owned.filter(
        (o) => o.ownerId !== "" && Date.now() - (o.lastModifiedTimeInMs ?? 0) < ownershipExpiryMs,
      );
      return new Map(live.map((o) => [o.partitionId, o.ownerId]));
    } finally {
      await probe.close();
    }
  }

  beforeAll(async () => {
    [azurite, simulator] = await Promise.all([
      startLocalAzurite(),
      startTestSimulator({
        hubName,
        partitionCount: 4,
        devices: deviceIds.map((deviceId, i) => ({ deviceId, tags: { site: siteOf(i) } })),
      }),
    ]);
    hub = createHubClient(simulator.iotHubConnectionString);
    store = StatusStore.fromConnectionString(azurite.connectionString);
    await seedSchedulerView(azurite.connectionString, schedulerView(hubName, configurations.map(managed)));
    hosts.push(
      ...(await Promise.all(
        [1, 2, 3].map(() =>
          startAppHost({
            azurite,
            simulator,
            entry: "functions/twinEvents.ts",
            env: { ...fastBalancing, LOG_LEVEL: "debug" },
          }),
        ),
      )),
    );
  });

  afterAll(async () => {
    await Promise.all(hosts.map((host) => host.stop()));
    hub?.close();
    await simulator?.stop();
    await azurite?.stop();
  });

  it("ends with every configuration's counts equal to the devices' twins after an instance is killed mid-stream", async () => {
    // East runs its module once: a crash leaves it failed, a state that holds still for the comparison.
    for (const { id, site } of configurations) {
      const deployment = baseDeployment(id, {
        targetCondition: `tags.site = '${site}'`,
        modules: {
          sensor: { image: `example/sensor:${site}`, restartPolicy: site === "east" ? "never" : "always" },
        },
      });
      await hub.createConfiguration({
        id,
        content: deployment.content ?? {},
        targetCondition: `tags.site = '${site}'`,
        priority: 10,
      });
    }
    // A first event makes every instance's trigger run; wait until the three share the four partitions.
    simulator.fleet.setTags(deviceIds[0]!, { site: siteOf(0) });
    await eventually(partitionOwners, (owners) => owners.size === 4 && new Set(owners.values()).size === 3, {
      attempts: 150,
      intervalMs: 200,
    });

    // The first batch filled the device states (an instance killed while filling holds everyone up
    // until its lock expires: not this test's subject).
    await eventually(
      () => store.deviceCounts(hubName),
      (counts) => counts?.total === deviceIds.length,
      {
        attempts: 150,
        intervalMs: 200,
      },
    );

    // The stream: the rollout with crashes, an instance killed in the middle of it, a device moving
    // between sites; once the hub has settled, disconnections.
    await simulator.fleet.evaluateNow();
    const east = deviceIds.filter((_, i) => siteOf(i) === "east");
    for (const deviceId of east.slice(0, 4)) simulator.fleet.injectFault(deviceId, "sensor", "crash");
    await new Promise((resolve) => setTimeout(resolve, 300));

    await hosts[0]!.stop("SIGKILL");

    simulator.fleet.setTags(deviceIds[3]!, { site: "south" });
    for (const deviceId of east.slice(4, 6)) simulator.fleet.injectFault(deviceId, "sensor", "crash");
    await simulator.fleet.evaluateNow();
    // Settled on the hub: every targeted device applied its deployment and runs or failed it, and
    // the six crashes happened (a module with a crash injected runs a moment first: on a loaded
    // machine the last crash can come after the others have settled).
    await eventually(
      truth,
      (counts) =>
        Object.values(counts).every((c) => c.applied === c.targeted && c.running + c.failed === c.applied) &&
        counts["c-east"]?.failed === 6,
      { attempts: 200, intervalMs: 100 },
    );
    simulator.fleet.setOnline(deviceIds[1]!, false);
    simulator.fleet.setOnline(deviceIds[5]!, false);
    const expected = truth();
    expect(expected["c-east"]).toMatchObject({ failed: 6, offline: 1 });

    // The killed instance's partitions wait for their ownership to expire, then 10 s at most.
    await new Promise((resolve) => setTimeout(resolve, ownershipExpiryMs));
    await eventually(stored, (counts) => JSON.stringify(counts) === JSON.stringify(expected), {
      attempts: 100,
      intervalMs: 100,
    }).catch(async (error: unknown) => {
      const failures = hosts.flatMap((host, i) =>
        host.output
          .filter((line) => /twin events|fill|"level":[45]0/.test(line) && !/took over partition/.test(line))
          .map((line) => `host ${i}: ${line.slice(0, 600)}`),
      );
      expect(await stored(), `${String(error)}\n${failures.join("\n")}`).toEqual(expected);
    });
  });

  it("lets the reconcile timer in a process that owns no partition leave right counts as they are", async () => {
    const before = await store.fleetStatuses(
      hubName,
      configurations.map((c) => c.id),
    );
    // This test's process reads no partition: its pipeline only ever saw what the table holds.
    const registry = new HubStatusRegistry((name) => ({ hub: name, store, hubClient: () => hub }));
    const status = await registry.get(hubName);
    await status.setConfigurations(schedulerView(hubName, configurations.map(managed)));
    const now = Date.now();
    // No grace: a disagreement would be repaired at once (the hub's twins read again, every part rewritten).
    const budget = { graceMs: 0, minRefillIntervalMs: 0 };
    const results = [
      await reconcileWithHubMetrics(status, hub, new Date(now), budget),
      await reconcileWithHubMetrics(status, hub, new Date(now + 60_000), budget),
    ];
    expect(results.map((r) => [r.compared, r.disagreeing, r.refilled])).toEqual([
      [3, [], false],
      [3, [], false],
    ]);
    const after = await store.fleetStatuses(
      hubName,
      configurations.map((c) => c.id),
    );
    const view = (statuses: Map<string, FleetStatus>) =>
      Object.fromEntries(
        [...statuses].map(([id, fleet]) => [id, { counts: fleet.counts, version: fleet.version }]),
      );
    expect(view(after)).toEqual(view(before));
  });
});
