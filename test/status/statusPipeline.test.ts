// The status pipeline end to end on real parts: the simulator's hub (REST, through the project's hub
// client) and its built-in Event Hub endpoint (real AMQP, EventHubConsumerClient, four partitions),
// the status table in Azurite. Devices apply a deployment, a module crashes, a device goes offline:
// the stored fleet status (what the provider API reads) and the pod status follow.
import { EventHubConsumerClient, earliestEventPosition } from "@azure/event-hubs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createHubClient } from "../../lib/hub/createHubClient.js";
import type { HubClient } from "../../lib/hub/hubClient.js";
import type { RunningSimulator } from "../../dev/simulator/simulator.js";
import type { HubSchedulerView } from "../../lib/scheduler/schedulerContract.js";
import { HubStatus } from "../../lib/status/hubStatus.js";
import { derivePodStatus } from "../../lib/status/podStatus.js";
import type { FleetStatus } from "../../lib/status/statusContract.js";
import { StatusStore } from "../../lib/status/statusStore.js";
import { ROLLOUT_BUCKET_TAG, rolloutBucket } from "../../lib/rollout/rolloutBucket.js";
import { startLocalAzurite, type LocalAzurite } from "../../dev/localAzurite.js";
import { baseDeployment } from "../support/deployments.js";
import { eventually, startTestSimulator } from "../support/testSimulator.js";

const configurationId = "c-temp-sensor";
const targetCondition = "tags.site = 'north'";

function schedulerView(hub: string): HubSchedulerView {
  return {
    hub,
    configurations: {
      [configurationId]: {
        id: configurationId,
        kind: "base",
        targetCondition,
        priority: 10,
        modules: { tempSensor: "temp-sensor" },
        images: { tempSensor: "example/temp-sensor:1" },
        pods: ["default/sensor/uid-1"],
        state: { phase: "OnHub" },
      },
    },
    deploymentsOnHub: 1,
    deploymentLimit: 100,
    counters: { creates: 1, deletes: 0, throttled: 0, coalesced: 0 },
  };
}

describe("status pipeline on the simulator's events", { timeout: 90_000 }, () => {
  let azurite: LocalAzurite;
  let simulator: RunningSimulator;
  let hub: HubClient;
  let store: StatusStore;
  let status: HubStatus;
  let consumer: EventHubConsumerClient;
  let subscription: { close(): Promise<void> } | undefined;
  const processing = new Map<string, Promise<unknown>>();

  async function fleet(): Promise<FleetStatus | undefined> {
    return (await store.fleetStatuses(simulator.hubName, [configurationId])).get(configurationId);
  }

  async function eventuallyFleet(accept: (fleet: FleetStatus) => boolean): Promise<FleetStatus> {
    return (await eventually(fleet, (value) => value !== undefined && accept(value), {
      attempts: 400,
      intervalMs: 50,
    })) as FleetStatus;
  }

  beforeAll(async () => {
    azurite = await startLocalAzurite();
    simulator = await startTestSimulator({
      devices: [
        { deviceId: "dev-1", tags: { site: "north" } },
        { deviceId: "dev-2", tags: { site: "north" } },
        { deviceId: "dev-3", tags: { site: "north" } },
        { deviceId: "dev-4", tags: { site: "south" } },
      ],
    });
    hub = createHubClient(simulator.iotHubConnectionString);
    store = StatusStore.fromConnectionString(azurite.connectionString);
    status = await HubStatus.open({ hub: simulator.hubName, store, hubClient: () => hub });
    await status.setConfigurations(schedulerView(simulator.hubName));
    consumer = new EventHubConsumerClient("$Default", simulator.eventHubConnectionString);
    subscription = consumer.subscribe(
      {
        // one batch at a time per partition, in arrival order, as the trigger processes a partition
        processEvents: (events, context) => {
          const done = (processing.get(context.partitionId) ?? Promise.resolve()).then(() =>
            status.processEvents(context.partitionId, events),
          );
          processing.set(context.partitionId, done);
          return done.then(() => undefined);
        },
        processError: () => Promise.resolve(),
      },
      // From the start: events older than the twins the cache was filled from are ignored by version.
      { startPosition: earliestEventPosition, maxWaitTimeInSeconds: 0.2 },
    );
  });

  afterAll(async () => {
    await subscription?.close();
    await consumer?.close();
    hub?.close();
    await simulator?.stop();
    await azurite?.stop();
  });

  it("fills the device states from the hub's twins with two queries, with tags and connection", async () => {
    expect(simulator.stats.operations["queryTwins"]).toBe(2);
    const states = await store.deviceStates(simulator.hubName);
    expect(states.size).toBe(4);
    expect(states.get("dev-4")).toMatchObject({ tags: { site: "south" }, connected: true });
    expect((await fleet())!.counts).toEqual({ targeted: 3, applied: 0, running: 0, failed: 0, offline: 0 });
    expect(await store.deviceCounts(simulator.hubName)).toEqual({ total: 4, connected: 4 });
  });

  it("tags each device it hears of with its rollout bucket, one twin update per device", async () => {
    const devices = ["dev-1", "dev-2", "dev-3", "dev-4"];
    const tagged = await eventually(
      () => Promise.all(devices.map((id) => hub.getDeviceTwin(id))),
      (twins) => twins.every((twin) => twin.tags?.[ROLLOUT_BUCKET_TAG] !== undefined),
      { attempts: 400, intervalMs: 50 },
    );
    expect(tagged.map((twin) => twin.tags?.[ROLLOUT_BUCKET_TAG])).toEqual(devices.map(rolloutBucket));
    const states = await eventually(
      () => store.deviceStates(simulator.hubName),
      (read) => devices.every((id) => read.get(id)?.tags[ROLLOUT_BUCKET_TAG] === rolloutBucket(id)),
      { attempts: 400, intervalMs: 50 },
    );
    expect(states.get("dev-4")!.tags).toMatchObject({ site: "south" });
    await Promise.all(processing.values());
    expect(simulator.stats.operations["updateTwin"]).toBe(devices.length);
  });

  it("counts devices as they apply the deployment and run its module", async () => {
    const deployment = baseDeployment(configurationId, {
      targetCondition,
      modules: { tempSensor: { image: "example/temp-sensor:1" } },
    });
    await hub.createConfiguration({
      id: configurationId,
      content: deployment.content ?? {},
      targetCondition,
      priority: 10,
    });
    await simulator.fleet.evaluateNow();
    const running = await eventuallyFleet((f) => f.counts.running === 3);
    expect(running.counts).toEqual({ targeted: 3, applied: 3, running: 3, failed: 0, offline: 0 });
    expect(running.modules["tempSensor"]!.runningOn).toEqual(["dev-1", "dev-2", "dev-3"]);
    expect(running.reported).toEqual({ successful: 3, failed: 0 });
    const pod = derivePodStatus(
      { stage: "Scheduled", configurationId, configuration: { phase: "OnHub" } },
      running,
      {
        containers: [{ name: "temp-sensor", image: "example/temp-sensor:1" }],
        moduleNames: { "temp-sensor": "tempSensor" },
      },
    );
    expect(pod.phase).toBe("Running");
    expect(pod.message).toBe("running on 3/3 devices");
  });

  it("shows a crashing module as a failed device with the module and the device named", async () => {
    simulator.fleet.injectFault("dev-3", "tempSensor", "crash");
    const failing = await eventuallyFleet((f) => f.counts.failed === 1);
    expect(failing.counts).toMatchObject({ running: 2, failed: 1 });
    expect(failing.failures).toEqual([{ deviceId: "dev-3", module: "tempSensor", reason: "backoff" }]);
    expect(failing.modules["tempSensor"]!.lastTermination).toMatchObject({
      deviceId: "dev-3",
      exitCode: 139,
    });
    simulator.fleet.clearFault("dev-3", "tempSensor");
    await eventuallyFleet((f) => f.counts.running === 3);
  });

  it("counts a disconnected device as offline", async () => {
    simulator.fleet.setOnline("dev-2", false);
    const offline = await eventuallyFleet((f) => f.counts.offline === 1);
    expect(offline.counts.targeted).toBe(3);
    simulator.fleet.setOnline("dev-2", true);
    await eventuallyFleet((f) => f.counts.offline === 0);
  });

  it("reopens from the table without querying the hub, and carries on where the stored status was", async () => {
    await Promise.all(processing.values());
    const before = (await fleet())!;
    await subscription?.close();
    const reopened = await HubStatus.open({
      hub: simulator.hubName,
      store,
      hubClient: () => {
        throw new Error("a reopened status must not reach the hub");
      },
    });
    await reopened.setConfigurations(schedulerView(simulator.hubName));
    status = reopened;
    subscription = consumer.subscribe(
      {
        processEvents: (events, context) =>
          reopened.processEvents(context.partitionId, events).then(() => undefined),
        processError: () => Promise.resolve(),
      },
      { startPosition: earliestEventPosition, maxWaitTimeInSeconds: 0.2 },
    );
    simulator.fleet.setOnline("dev-1", false);
    const after = await eventuallyFleet((f) => f.counts.offline === 1);
    expect(after.counts).toEqual({ ...before.counts, offline: 1 });
    expect(after.version).toBeGreaterThan(before.version);
    expect(simulator.stats.operations["queryTwins"]).toBe(2);
  });
});
