// npm run bench:status — the status pipeline at fleet scale: 10,000 IoT Edge devices, 50 base
// deployments of 200 devices each, 1,000 pods (20 per deployment), the hub's events on 4 partitions.
//  1. In process: hub-shaped events (built by the simulator's event builders) in batches of 1,000
//     through readHubEvents → DeviceCache → FleetTracker (memory only); then one app instance's
//     pipeline (HubStatus) holding all 4 partitions, fed one batch per partition at a time as the
//     trigger does, storing in Azurite; and derivePodStatus for 1,000 pods.
//  2. End to end with 1, 2 and 3 app instances (local hosts running functions/twinEvents.ts on one
//     Azurite, sharing the partitions): the rollout of the 50 deployments with the instances reading
//     live (device report → stored status, p50/p99: the k-th device's "running" report against the
//     moment the stored statuses first count k devices running), a backlog of tag changes on every
//     device drained (events a second stored, from the instances started until every partition's
//     checkpoint is at its end; the instances' start is printed apart), and
//     single module crashes on the settled fleet (report → stored status, p50/p99).
// Azurite runs in memory (its disk persistence slows as the table grows: that would measure the
// emulator). Hosts balance partitions every 2 s here (the real default 30 s would leave late
// instances idle through a short run).
// Usage: npm run bench:status -- [--devices 10000] [--configurations 50] [--runs 3] [--instances 1,2,3]
//        [--faults 30] [--waves 3] [--batch 1000]
import { EventHubConsumerClient } from "@azure/event-hubs";
import { BlobCheckpointStore } from "@azure/eventhubs-checkpointstore-blob";
import { ContainerClient } from "@azure/storage-blob";
import { parseArgs } from "node:util";
import type { HostProcess } from "../dev/host/hostProcess.js";
import { startLocalAzurite, type LocalAzurite } from "../dev/localAzurite.js";
import type { HubEvent } from "../dev/simulator/eventLog.js";
import { partitionIndexForKey } from "../dev/simulator/memoryEventLog.js";
import { twinChangeEvent } from "../dev/simulator/routedEvents.js";
import { startSimulator, type RunningSimulator } from "../dev/simulator/simulator.js";
import { createHubClient } from "../lib/hub/createHubClient.js";
import type { ReceivedEventLike } from "../lib/hub/hubNotifications.js";
import type { ManagedConfiguration } from "../lib/scheduler/schedulerContract.js";
import { DeviceCache } from "../lib/status/deviceCache.js";
import { emptyDeviceState, type DeviceState } from "../lib/status/deviceState.js";
import { FleetTracker } from "../lib/status/fleetStatus.js";
import { HubStatus } from "../lib/status/hubStatus.js";
import { derivePodStatus } from "../lib/status/podStatus.js";
import { readHubEvents } from "../lib/status/readHubEvents.js";
import { StatusStore } from "../lib/status/statusStore.js";
import { startAppHost } from "../test/support/appHost.js";
import { baseDeployment } from "../test/support/deployments.js";
import { freeLoopbackHost } from "../dev/simulator/loopbackHost.js";
import { schedulerView, seedSchedulerView } from "../test/support/schedulerViewSeed.js";
import { cpuSecondsOf, machineBusySeconds, processUsage } from "./support/cpuAccounting.js";
import { trustsLocalCa } from "./trustLocalCa.js";

const { values } = parseArgs({
  options: {
    devices: { type: "string", default: "10000" },
    configurations: { type: "string", default: "50" },
    runs: { type: "string", default: "3" },
    instances: { type: "string", default: "1,2,3" },
    faults: { type: "string", default: "30" },
    waves: { type: "string", default: "3" },
    batch: { type: "string", default: "1000" },
  },
});
const DEVICES = Number(values.devices);
const CONFIGURATIONS = Number(values.configurations);
const RUNS = Number(values.runs);
const INSTANCES = values.instances.split(",").map(Number);
const FAULTS = Number(values.faults);
const WAVES = Number(values.waves);
const PODS = 1_000;
/** part 1's batches, as host.json's maxEventBatchSize gives them to part 2's instances */
const BATCH = Number(values.batch);
const PARTITIONS = 4;
const HUB = "bench-hub";

const sorted = (xs: number[]) => [...xs].sort((a, b) => a - b);
const quantile = (xs: number[], q: number) =>
  sorted(xs)[Math.min(xs.length - 1, Math.floor(xs.length * q))] ?? NaN;
const median = (xs: number[]) => quantile(xs, 0.5);
const fmt = (x: number, unit = "") => `${Math.round(x).toLocaleString("en-US")}${unit}`;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

const deviceId = (i: number) => `edge-${String(i).padStart(5, "0")}`;
const configurationId = (c: number) => `bench-c${c}`;
const condition = (c: number) => `tags.group = 'g${c}'`;

function managed(c: number): ManagedConfiguration {
  return {
    id: configurationId(c),
    kind: "base",
    targetCondition: condition(c),
    priority: 10,
    modules: { sensor: "sensor" },
    images: { sensor: `example/sensor:${c}` },
    pods: Array.from({ length: PODS / CONFIGURATIONS }, (_, p) => `default/pod-${c}-${p}/uid`),
    state: { phase: "OnHub" },
  };
}

const view = (hub: string) =>
  schedulerView(
    hub,
    Array.from({ length: CONFIGURATIONS }, (_, c) => managed(c)),
  );

function received(event: HubEvent): ReceivedEventLike {
  return { body: event.body, properties: event.applicationProperties, systemProperties: event.annotations };
}

/** Per device: the hub applies its deployment, edgeAgent reports the module running, then in backoff. */
function rolloutEvents(hub: string): ReceivedEventLike[] {
  const events: ReceivedEventLike[] = [];
  for (let i = 0; i < DEVICES; i += 1) {
    const common = {
      hubName: hub,
      deviceId: deviceId(i),
      moduleId: "$edgeAgent",
      opType: "updateTwin" as const,
    };
    const reported = (
      version: number,
      modules: Record<string, unknown>,
      extra: Record<string, unknown> = {},
    ) =>
      received(
        twinChangeEvent({
          ...common,
          version,
          body: { properties: { reported: { ...extra, modules, $version: version - 1 } } },
        }),
      );
    events.push(
      received(
        twinChangeEvent({
          ...common,
          version: 2,
          body: {
            properties: { desired: { $version: 2 } },
            configurations: { [configurationId(i % CONFIGURATIONS)]: { status: "Applied" } },
          },
        }),
      ),
      reported(
        3,
        { sensor: { runtimeStatus: "running", restartCount: 0, exitCode: 0 } },
        { lastDesiredVersion: 2, lastDesiredStatus: { code: 200 } },
      ),
      reported(4, { sensor: { runtimeStatus: "backoff", exitCode: 139, restartCount: 1 } }),
    );
  }
  return events;
}

function filledStates(): DeviceState[] {
  return Array.from({ length: DEVICES }, (_, i) => {
    const state = emptyDeviceState(deviceId(i));
    state.twinVersion = 1;
    state.agent.twinVersion = 1;
    state.tags = { group: `g${i % CONFIGURATIONS}` };
    state.connected = true;
    return state;
  });
}

function row(name: string, xs: number[], unit: string): void {
  console.log(
    `| ${name} | ${fmt(median(xs), unit)} | ${fmt(Math.min(...xs), unit)} | ${fmt(Math.max(...xs), unit)} |`,
  );
}

async function inProcess(connectionString: string): Promise<void> {
  const events = rolloutEvents(HUB);
  const memoryRates: number[] = [];
  const storedRates: number[] = [];
  const podStatusMs: number[] = [];
  const store = StatusStore.fromConnectionString(connectionString);
  for (let run = 0; run < RUNS; run += 1) {
    const cache = new DeviceCache(filledStates());
    const fleet = new FleetTracker(HUB, cache);
    fleet.setConfigurations(Object.values(view(HUB).configurations));
    fleet.update();
    let started = performance.now();
    for (let i = 0; i < events.length; i += BATCH) {
      const read = readHubEvents(events.slice(i, i + BATCH), () => {});
      fleet.devicesChanged(cache.apply(read.notifications));
      fleet.update();
    }
    memoryRates.push(events.length / ((performance.now() - started) / 1000));

    const pods = Object.values(view(HUB).configurations).flatMap((c) => c.pods.map(() => c.id));
    started = performance.now();
    for (const id of pods)
      derivePodStatus(
        { stage: "Scheduled", configurationId: id, configuration: { phase: "OnHub" } },
        fleet.status(id),
        { containers: [{ name: "sensor", image: "example/sensor:1" }], moduleNames: { sensor: "sensor" } },
      );
    podStatusMs.push(performance.now() - started);

    // One instance holding the 4 partitions: a fill as the hub's twins would give, then each
    // partition's events in batches, one batch per partition at a time, the partitions concurrently.
    const hub = `${HUB}-run${run}`;
    const fillStates = await store.writeFillStates(hub, filledStates());
    await store.writeFillRow(
      hub,
      {
        serial: 1,
        fillId: fillStates.key,
        filledAt: new Date().toISOString(),
        states: fillStates,
        configurationsKey: "",
        statuses: {},
        devices: { total: DEVICES, connected: DEVICES },
      },
      undefined,
    );
    const status = await HubStatus.open({
      hub,
      store,
      hubClient: () => {
        throw new Error("filled already");
      },
    });
    await status.setConfigurations(view(hub));
    const byPartition = Array.from({ length: PARTITIONS }, () => [] as ReceivedEventLike[]);
    for (const event of rolloutEvents(hub)) {
      const device = String(event.properties?.["deviceId"]);
      byPartition[partitionIndexForKey(device, PARTITIONS)]!.push(event);
    }
    started = performance.now();
    await Promise.all(
      byPartition.map(async (partitionEvents, partition) => {
        for (let i = 0; i < partitionEvents.length; i += BATCH)
          await status.processEvents(String(partition), partitionEvents.slice(i, i + BATCH));
      }),
    );
    storedRates.push(events.length / ((performance.now() - started) / 1000));
  }
  console.log(
    `\n1. In process, ${fmt(events.length)} events (${fmt(DEVICES)} devices, ${CONFIGURATIONS} configurations), batches of ${BATCH}, ${RUNS} runs`,
  );
  console.log(`| measure | median | min | max |`);
  console.log(`|---|---|---|---|`);
  row("events/s, cache + fleet status in memory", memoryRates, "");
  row(`events/s stored, one instance with ${PARTITIONS} partitions (Azurite in memory)`, storedRates, "");
  row(`derivePodStatus for ${PODS} pods`, podStatusMs, " ms");
}

interface InstancesResult {
  instances: number;
  rolloutEvents: number;
  rolloutMs: number;
  rolloutLatencies: number[];
  backlogEvents: number;
  /** the instances' start before the drain (loading the app), not counted in it */
  startMs: number;
  drainMs: number;
  /** CPU seconds during the drain: the instances (summed), Azurite, this process (the simulator), all cores */
  drainCpu: DrainCpu;
  faultLatencies: number[];
  peakHostRssMb: number;
}

interface DrainCpu {
  instances: number;
  azurite: number;
  bench: number;
  machine: number;
}

/** CPU seconds so far of the instances (summed), Azurite, this process and the machine. */
function cpuNow(hosts: readonly HostProcess[], azurite: LocalAzurite): DrainCpu {
  return {
    instances: hosts.reduce((total, host) => total + cpuSecondsOf(host.pid), 0),
    azurite: cpuSecondsOf(azurite.pid),
    bench: processUsage(process.pid).cpuSeconds,
    machine: machineBusySeconds(),
  };
}

/** Summed stored counts over every configuration. */
async function storedTotals(store: StatusStore, hub: string): Promise<{ running: number; failed: number }> {
  const totals = { running: 0, failed: 0 };
  for (const status of await store.allFleetStatuses(hub)) {
    totals.running += status.counts.running;
    totals.failed += status.counts.failed;
  }
  return totals;
}

/** Enqueue times (ms) of the reports of `module` reaching `runtimeStatus`, per device the first, sorted. */
function reportTimes(simulator: RunningSimulator, runtimeStatus: string, after = 0): number[] {
  const times = new Map<string, number>();
  for (const partitionId of simulator.eventLog.partitionIds) {
    for (const event of simulator.eventLog.read(partitionId, 0, Number.MAX_SAFE_INTEGER)) {
      const body = event.body as {
        properties?: { reported?: { modules?: { sensor?: { runtimeStatus?: string } } } };
      };
      const at = Number(event.annotations["iothub-enqueuedtime"]);
      const device = String(event.annotations["iothub-connection-device-id"]);
      if (
        at > after &&
        body.properties?.reported?.modules?.sensor?.runtimeStatus === runtimeStatus &&
        !times.has(device)
      )
        times.set(device, at);
    }
  }
  return sorted([...times.values()]);
}

async function withInstances(instances: number): Promise<InstancesResult> {
  const azurite = await startLocalAzurite({ inMemory: true });
  const simulator = await startSimulator({
    host: await freeLoopbackHost(),
    hubName: HUB,
    sku: "unlimited",
    evaluationIntervalMs: 3_600_000,
    runtimeStepMs: 20,
    runtime: { imagePullMs: 50, crashAfterMs: 100, backoffBaseMs: 60_000, backoffMaxMs: 60_000 },
    retainEventsPerPartition: 1_000_000,
    partitionCount: PARTITIONS,
    devices: Array.from({ length: DEVICES }, (_, i) => ({
      deviceId: deviceId(i),
      tags: { group: `g${i % CONFIGURATIONS}` },
    })),
  });
  const hub = createHubClient(simulator.iotHubConnectionString);
  const store = StatusStore.fromConnectionString(azurite.connectionString);
  const hosts: HostProcess[] = [];
  const env = {
    LOG_LEVEL: "warn",
    AzureFunctionsJobHost__extensions__eventHubs__loadBalancingUpdateInterval: "00:00:02",
    AzureFunctionsJobHost__extensions__eventHubs__partitionOwnershipExpirationInterval: "00:00:10",
  };
  let peakHostRssMb = 0;
  const rssSampler = setInterval(() => {
    for (const host of hosts) {
      const pid = host.pid;
      if (pid === undefined) continue;
      try {
        peakHostRssMb = Math.max(peakHostRssMb, processUsage(pid).peakRssMiB);
      } catch {
        // it exited between the check and the read
      }
    }
  }, 500);
  try {
    // The hub's devices filled once (as the first instance would) and the scheduler's view, then the instances.
    const filler = await HubStatus.open({ hub: HUB, store, hubClient: () => hub });
    await filler.setConfigurations(view(HUB));
    await seedSchedulerView(azurite.connectionString, view(HUB));
    hosts.push(
      ...(await Promise.all(
        Array.from({ length: instances }, () =>
          startAppHost({ azurite, simulator, entry: "functions/twinEvents.ts", env }),
        ),
      )),
    );
    await waitForBalance(azurite.connectionString, simulator, instances);

    // Rollout, read live.
    for (let c = 0; c < CONFIGURATIONS; c += 1) {
      const deployment = baseDeployment(configurationId(c), {
        targetCondition: condition(c),
        modules: { sensor: { image: `example/sensor:${c}` } },
      });
      await hub.createConfiguration({
        id: configurationId(c),
        content: deployment.content ?? {},
        targetCondition: condition(c),
        priority: 10,
      });
    }
    const eventsBefore = simulator.stats.eventsRouted;
    const rolloutStarted = Date.now();
    await simulator.fleet.evaluateNow();
    const storedAt: { at: number; running: number }[] = [];
    for (let wait = 0; wait < 3_000; wait += 1) {
      const { running } = await storedTotals(store, HUB);
      storedAt.push({ at: Date.now(), running });
      if (running >= DEVICES) break;
      await sleep(100);
    }
    const rolloutMs = Date.now() - rolloutStarted;
    const rolloutEvents = simulator.stats.eventsRouted - eventsBefore;
    const reports = reportTimes(simulator, "running", rolloutStarted - 1);
    const rolloutLatencies = reports.flatMap((reportedAt, k) => {
      const seen = storedAt.find((sample) => sample.running >= k + 1);
      return seen ? [seen.at - reportedAt] : [];
    });
    await waitForCheckpoints(azurite.connectionString, simulator);

    // A backlog drained: every device's tags change WAVES times while the instances are stopped.
    await Promise.all(hosts.splice(0).map((host) => host.stop()));
    const backlogBefore = simulator.stats.eventsRouted;
    for (let wave = 1; wave <= WAVES; wave += 1)
      for (let i = 0; i < DEVICES; i += 1) simulator.fleet.setTags(deviceId(i), { wave: String(wave) });
    const backlogEvents = simulator.stats.eventsRouted - backlogBefore;
    // Timed from the instances being up (their start, a few seconds of loading the app, apart).
    const startingAt = Date.now();
    hosts.push(
      ...(await Promise.all(
        Array.from({ length: instances }, () =>
          startAppHost({ azurite, simulator, entry: "functions/twinEvents.ts", env }),
        ),
      )),
    );
    const drainStarted = Date.now();
    const cpuBefore = cpuNow(hosts, azurite);
    const startMs = drainStarted - startingAt;
    await waitForCheckpoints(azurite.connectionString, simulator);
    const drainMs = Date.now() - drainStarted;
    const cpuAfter = cpuNow(hosts, azurite);
    const drainCpu: DrainCpu = {
      instances: cpuAfter.instances - cpuBefore.instances,
      azurite: cpuAfter.azurite - cpuBefore.azurite,
      bench: cpuAfter.bench - cpuBefore.bench,
      machine: cpuAfter.machine - cpuBefore.machine,
    };

    // Single module crashes on the settled fleet.
    const faultLatencies: number[] = [];
    for (let f = 0; f < FAULTS; f += 1) {
      const i = (f * 997) % DEVICES;
      const before = await storedTotals(store, HUB);
      const injected = Date.now();
      simulator.fleet.injectFault(deviceId(i), "sensor", "crash");
      for (let wait = 0; wait < 1_000; wait += 1) {
        if ((await storedTotals(store, HUB)).failed > before.failed) break;
        await sleep(5);
      }
      const seen = Date.now();
      const [reportedAt] = reportTimes(simulator, "backoff", injected - 1);
      if (reportedAt !== undefined) faultLatencies.push(seen - reportedAt);
    }
    return {
      instances,
      rolloutEvents,
      rolloutMs,
      rolloutLatencies,
      backlogEvents,
      startMs,
      drainMs,
      drainCpu,
      faultLatencies,
      peakHostRssMb,
    };
  } finally {
    clearInterval(rssSampler);
    await Promise.all(hosts.map((host) => host.stop()));
    hub.close();
    await simulator.stop();
    await azurite.stop();
  }
}

async function checkpoints(connectionString: string, simulator: RunningSimulator) {
  const probe = new EventHubConsumerClient("$Default", simulator.eventHubConnectionString);
  try {
    const store = new BlobCheckpointStore(new ContainerClient(connectionString, "azure-webjobs-eventhub"));
    return {
      checkpoints: await store.listCheckpoints(probe.fullyQualifiedNamespace, HUB, "$Default"),
      ownership: await store.listOwnership(probe.fullyQualifiedNamespace, HUB, "$Default"),
    };
  } finally {
    await probe.close();
  }
}

async function waitForBalance(
  connectionString: string,
  simulator: RunningSimulator,
  instances: number,
): Promise<void> {
  for (let wait = 0; wait < 600; wait += 1) {
    const { ownership } = await checkpoints(connectionString, simulator);
    const live = ownership.filter(
      (o) => o.ownerId !== "" && Date.now() - (o.lastModifiedTimeInMs ?? 0) < 10_000,
    );
    if (
      live.length === PARTITIONS &&
      new Set(live.map((o) => o.ownerId)).size === Math.min(instances, PARTITIONS)
    )
      return;
    await sleep(200);
  }
  throw new Error(`the ${instances} instances did not share the ${PARTITIONS} partitions`);
}

/** Waits until every partition's checkpoint is at its last event: everything read was stored. */
async function waitForCheckpoints(connectionString: string, simulator: RunningSimulator): Promise<void> {
  for (let wait = 0; wait < 6_000; wait += 1) {
    const { checkpoints: done } = await checkpoints(connectionString, simulator);
    const atEnd = simulator.eventLog.partitionIds.every((partitionId) => {
      const last = simulator.eventLog.partitionInfo(partitionId).lastEnqueuedSequenceNumber;
      return last < 0 || (done.find((c) => c.partitionId === partitionId)?.sequenceNumber ?? -1) >= last;
    });
    if (atEnd) return;
    await sleep(100);
  }
  throw new Error("the instances did not reach the end of every partition");
}

function printInstances(results: InstancesResult[]): void {
  console.log(
    `\n2. End to end: ${fmt(DEVICES)} devices, ${CONFIGURATIONS} deployments, ${PARTITIONS} partitions, app instances as local hosts on one Azurite (in memory)`,
  );
  console.log(
    `| measure | ${results.map((r) => `${r.instances} instance${r.instances === 1 ? "" : "s"}`).join(" | ")} |`,
  );
  console.log(`|---|${results.map(() => "---").join("|")}|`);
  const line = (name: string, cell: (r: InstancesResult) => string) =>
    console.log(`| ${name} | ${results.map(cell).join(" | ")} |`);
  line(
    "rollout: events, time until every device's running is stored",
    (r) => `${fmt(r.rolloutEvents)} in ${fmt(r.rolloutMs, " ms")}`,
  );
  line(
    "rollout: report → stored status, p50 / p99",
    (r) => `${fmt(median(r.rolloutLatencies), " ms")} / ${fmt(quantile(r.rolloutLatencies, 0.99), " ms")}`,
  );
  line(
    `backlog drained: ${WAVES} tag changes per device, events/s stored (from the instances up)`,
    (r) =>
      `${fmt(r.backlogEvents)} in ${fmt(r.drainMs, " ms")}: **${fmt(r.backlogEvents / (r.drainMs / 1000))}/s**`,
  );
  line("backlog: events/s stored per instance", (r) =>
    fmt(r.backlogEvents / (r.drainMs / 1000) / r.instances),
  );
  line(
    "backlog: CPU, s: the instances / Azurite / the simulator (this process) / machine busy",
    ({ drainCpu: c, drainMs }) =>
      `${c.instances.toFixed(1)} / ${c.azurite.toFixed(1)} / ${c.bench.toFixed(1)} / ${((c.machine / (drainMs / 1000)) * 100).toFixed(0)} %`,
  );
  // What an instance costs, apart from the cores it shares here: events stored per second of its CPU.
  line("backlog: events stored per CPU second of the instances", (r) =>
    fmt(r.backlogEvents / r.drainCpu.instances),
  );
  line("backlog: the instances' start before it (not counted)", (r) => fmt(r.startMs, " ms"));
  line(
    `single crashes (${FAULTS}): report → stored status, p50 / p99`,
    (r) => `${fmt(median(r.faultLatencies), " ms")} / ${fmt(quantile(r.faultLatencies, 0.99), " ms")}`,
  );
  line("peak RSS of an instance", (r) => fmt(r.peakHostRssMb, " MB"));
}

async function main(): Promise<void> {
  if (!(await trustsLocalCa())) return;
  console.log(`status bench: ${fmt(DEVICES)} devices, ${CONFIGURATIONS} configurations, ${PODS} pods`);
  const azurite = await startLocalAzurite({ inMemory: true });
  try {
    await inProcess(azurite.connectionString);
  } finally {
    await azurite.stop();
  }
  const results: InstancesResult[] = [];
  for (const instances of INSTANCES) results.push(await withInstances(instances));
  printInstances(results);
}

await main();
