// npm run bench:status — the status pipeline at fleet scale: 10,000 IoT Edge devices, 50 base
// deployments of 200 devices each, 1,000 pods (20 per deployment).
//  1. Throughput, in process: hub-shaped events (built by the simulator's event builders) in batches of
//     100 through readHubEvents → DeviceCache → FleetTracker, then the same with the status table in
//     Azurite (HubStatus: every changed device and fleet status stored), and derivePodStatus for 1,000 pods.
//  2. End to end on the simulator: its real Event Hub endpoint (AMQP, EventHubConsumerClient) feeds
//     HubStatus as the fleet rolls the 50 deployments out and then modules crash one device at a time;
//     latency = from the hub enqueuing a device's report to its fleet status being stored (what the
//     provider API reads), median and p99. Also the one-time cache fill (paged twin queries).
// Usage: npm run bench:status -- [--devices 10000] [--configurations 50] [--runs 3] [--faults 40]
import { EventHubConsumerClient, latestEventPosition, type ReceivedEventData } from "@azure/event-hubs";
import { spawn } from "node:child_process";
import { createInterface } from "node:readline";
import { once } from "node:events";
import { parseArgs } from "node:util";
import { createHubClient } from "../lib/hub/createHubClient.js";
import type { ReceivedEventLike } from "../lib/hub/hubNotifications.js";
import type { HubSchedulerView, ManagedConfiguration } from "../lib/scheduler/schedulerContract.js";
import type { HubEvent } from "../dev/simulator/eventLog.js";
import { twinChangeEvent } from "../dev/simulator/routedEvents.js";
import { startSimulator } from "../dev/simulator/simulator.js";
import { DeviceCache } from "../lib/status/deviceCache.js";
import { emptyDeviceState } from "../lib/status/deviceState.js";
import { FleetTracker } from "../lib/status/fleetStatus.js";
import { HubStatus } from "../lib/status/hubStatus.js";
import { derivePodStatus } from "../lib/status/podStatus.js";
import { readHubEvents } from "../lib/status/readHubEvents.js";
import { StatusStore } from "../lib/status/statusStore.js";
import { baseDeployment } from "../test/support/deployments.js";
import { freeLoopbackHost } from "../test/support/loopbackHost.js";
import { trustsLocalCa } from "./trustLocalCa.js";

const { values } = parseArgs({
  options: {
    devices: { type: "string", default: "10000" },
    configurations: { type: "string", default: "50" },
    runs: { type: "string", default: "3" },
    faults: { type: "string", default: "40" },
  },
});
const DEVICES = Number(values.devices);
const CONFIGURATIONS = Number(values.configurations);
const RUNS = Number(values.runs);
const FAULTS = Number(values.faults);
const PODS = 1_000;
const BATCH = 100;
const HUB = "bench-hub";

let peakRss = 0;
const sampleMemory = () => (peakRss = Math.max(peakRss, process.memoryUsage().rss));
const memorySampler = setInterval(sampleMemory, 50);

const sorted = (xs: number[]) => [...xs].sort((a, b) => a - b);
const quantile = (xs: number[], q: number) =>
  sorted(xs)[Math.min(xs.length - 1, Math.floor(xs.length * q))] ?? NaN;
const median = (xs: number[]) => quantile(xs, 0.5);
const fmt = (x: number, unit = "") => `${Math.round(x).toLocaleString("en-US")}${unit}`;

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

function view(): HubSchedulerView {
  return {
    hub: HUB,
    configurations: Object.fromEntries(
      Array.from({ length: CONFIGURATIONS }, (_, c) => [configurationId(c), managed(c)]),
    ),
    deploymentsOnHub: CONFIGURATIONS,
    deploymentLimit: 100,
    counters: { creates: 0, deletes: 0, throttled: 0, coalesced: 0 },
  };
}

function received(event: HubEvent): ReceivedEventLike {
  return { body: event.body, properties: event.applicationProperties, systemProperties: event.annotations };
}

/** Per device: the hub applies its deployment, edgeAgent reports the module running, then in backoff. */
function rolloutEvents(): ReceivedEventLike[] {
  const events: ReceivedEventLike[] = [];
  for (let i = 0; i < DEVICES; i += 1) {
    const common = {
      hubName: HUB,
      deviceId: deviceId(i),
      moduleId: "$edgeAgent",
      opType: "updateTwin" as const,
    };
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
      received(
        twinChangeEvent({
          ...common,
          version: 3,
          body: {
            properties: {
              reported: {
                lastDesiredVersion: 2,
                lastDesiredStatus: { code: 200 },
                modules: { sensor: { runtimeStatus: "running", restartCount: 0, exitCode: 0 } },
                $version: 2,
              },
            },
          },
        }),
      ),
      received(
        twinChangeEvent({
          ...common,
          version: 4,
          body: {
            properties: {
              reported: {
                modules: { sensor: { runtimeStatus: "backoff", exitCode: 139, restartCount: 1 } },
                $version: 3,
              },
            },
          },
        }),
      ),
    );
  }
  return events;
}

function filledCache(): DeviceCache {
  return new DeviceCache(
    Array.from({ length: DEVICES }, (_, i) => {
      const state = emptyDeviceState(deviceId(i));
      state.twinVersion = 1;
      state.agent.twinVersion = 1;
      state.tags = { group: `g${i % CONFIGURATIONS}` };
      state.connected = true;
      return state;
    }),
  );
}

async function throughput(store: StatusStore): Promise<void> {
  const events = rolloutEvents();
  const memoryRates: number[] = [];
  const storedRates: number[] = [];
  const podStatusMs: number[] = [];
  for (let run = 0; run < RUNS; run += 1) {
    const cache = filledCache();
    const fleet = new FleetTracker(HUB, cache);
    fleet.setConfigurations(Object.values(view().configurations));
    fleet.update();
    let started = performance.now();
    for (let i = 0; i < events.length; i += BATCH) {
      const read = readHubEvents(events.slice(i, i + BATCH), () => {});
      fleet.devicesChanged(cache.apply(read.notifications));
      fleet.update();
    }
    memoryRates.push(events.length / ((performance.now() - started) / 1000));

    const pods = Object.values(view().configurations).flatMap((c) => c.pods.map(() => c.id));
    started = performance.now();
    for (const id of pods)
      derivePodStatus(
        { stage: "Scheduled", configurationId: id, configuration: { phase: "OnHub" } },
        fleet.status(id),
        {
          containers: [{ name: "sensor", image: "example/sensor:1" }],
          moduleNames: { sensor: "sensor" },
        },
      );
    podStatusMs.push(performance.now() - started);

    // The same with the status table: seed it with the filled cache, then every batch stores what changed.
    const hub = `${HUB}-run${run}`;
    await store.saveDevices(hub, [...filledCache().all()]);
    await store.saveBookkeeping(hub, { filledAt: new Date().toISOString(), fleetVersion: 0, driftSince: {} });
    const status = await HubStatus.open({
      hub,
      store,
      hubClient: () => {
        throw new Error("filled from the table");
      },
    });
    await status.setConfigurations(view());
    const subset = events.slice(0, Math.min(events.length, 6_000)); // Azurite is the bottleneck: a slice suffices
    started = performance.now();
    for (let i = 0; i < subset.length; i += BATCH) await status.processEvents(subset.slice(i, i + BATCH));
    storedRates.push(subset.length / ((performance.now() - started) / 1000));
    sampleMemory();
  }
  console.log(
    `\n1. Throughput over ${fmt(events.length)} events (${fmt(DEVICES)} devices, ${CONFIGURATIONS} configurations), batches of ${BATCH}, ${RUNS} runs`,
  );
  console.log(`| measure | median | min | max |`);
  console.log(`|---|---|---|---|`);
  const row = (name: string, xs: number[], unit: string) =>
    console.log(
      `| ${name} | ${fmt(median(xs), unit)} | ${fmt(Math.min(...xs), unit)} | ${fmt(Math.max(...xs), unit)} |`,
    );
  row("events/s, cache + fleet status in memory", memoryRates, "");
  row("events/s, with the status table (Azurite, in memory)", storedRates, "");
  row(`derivePodStatus for ${PODS} pods`, podStatusMs, " ms");
}

async function endToEnd(store: StatusStore): Promise<void> {
  const simulator = await startSimulator({
    host: await freeLoopbackHost(),
    sku: "unlimited",
    evaluationIntervalMs: 3_600_000,
    runtimeStepMs: 20,
    runtime: { imagePullMs: 50, crashAfterMs: 100, backoffBaseMs: 60_000, backoffMaxMs: 60_000 },
    retainEventsPerPartition: 1_000_000,
    devices: Array.from({ length: DEVICES }, (_, i) => ({
      deviceId: deviceId(i),
      tags: { group: `g${i % CONFIGURATIONS}` },
    })),
  });
  const hub = createHubClient(simulator.iotHubConnectionString);
  const consumer = new EventHubConsumerClient("$Default", simulator.eventHubConnectionString);
  try {
    let started = performance.now();
    const status = await HubStatus.open({ hub: simulator.hubName, store, hubClient: () => hub });
    const fillMs = performance.now() - started;
    await status.setConfigurations({ ...view(), hub: simulator.hubName });

    const latencies: number[] = [];
    let processing = Promise.resolve();
    let events = 0;
    const subscription = consumer.subscribe(
      {
        processEvents: (batch: ReceivedEventData[]) => {
          processing = processing.then(async () => {
            await status.processEvents(batch);
            const done = Date.now();
            events += batch.length;
            for (const event of batch) {
              const enqueued = event.systemProperties?.["iothub-enqueuedtime"];
              if (typeof enqueued === "number") latencies.push(done - enqueued);
            }
          });
          return processing;
        },
        processError: () => Promise.resolve(),
      },
      { startPosition: latestEventPosition, maxBatchSize: BATCH, maxWaitTimeInSeconds: 0.05 },
    );
    await new Promise((resolve) => setTimeout(resolve, 1_000));

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
    started = performance.now();
    await simulator.fleet.evaluateNow();
    const allRunning = () =>
      Array.from(
        { length: CONFIGURATIONS },
        (_, c) => status.fleet.status(configurationId(c))?.counts.running ?? 0,
      ).reduce((a, b) => a + b, 0);
    for (let wait = 0; wait < 1_200 && allRunning() < DEVICES; wait += 1)
      await new Promise((r) => setTimeout(r, 100));
    const rolloutMs = performance.now() - started;
    const rolloutRunning = allRunning();
    const rolloutEvents = events;
    const rolloutLatencies = [...latencies];

    // Drain what the rollout still has in flight (other module twins, edgeHub reports) before measuring.
    for (let quiet = 0, wait = 0, seen = -1; quiet < 20 && wait < 3_000; wait += 1) {
      quiet = events === seen ? quiet + 1 : 0;
      seen = events;
      await new Promise((r) => setTimeout(r, 100));
    }
    latencies.splice(0);
    // Steady state: one device's module crashes at a time; the report reaches the stored status.
    for (let f = 0; f < FAULTS; f += 1) {
      const i = (f * 997) % DEVICES;
      const id = configurationId(i % CONFIGURATIONS);
      const failedBefore = status.fleet.status(id)?.counts.failed ?? 0;
      simulator.fleet.injectFault(deviceId(i), "sensor", "crash");
      for (
        let wait = 0;
        wait < 200 && (status.fleet.status(id)?.counts.failed ?? 0) <= failedBefore;
        wait += 1
      )
        await new Promise((r) => setTimeout(r, 10));
      await processing;
    }
    const faultLatencies = latencies.splice(0);
    await subscription.close();
    sampleMemory();

    console.log(
      `\n2. End to end on the simulator (${fmt(DEVICES)} devices, real AMQP endpoint, status table in Azurite in memory)`,
    );
    console.log(`| measure | value |`);
    console.log(`|---|---|`);
    console.log(
      `| cache fill from the hub (2 paged twin queries, ${simulator.stats.operations["queryTwins"] ?? 0} pages) | ${fmt(fillMs, " ms")} |`,
    );
    console.log(`| rollout: devices running every module / all | ${fmt(rolloutRunning)} / ${fmt(DEVICES)} |`);
    console.log(
      `| rollout: events processed, time until all run | ${fmt(rolloutEvents)} in ${fmt(rolloutMs, " ms")} (${fmt(rolloutEvents / (rolloutMs / 1000))}/s) |`,
    );
    console.log(
      `| rollout burst: report → stored status, median / p99 | ${fmt(median(rolloutLatencies), " ms")} / ${fmt(quantile(rolloutLatencies, 0.99), " ms")} |`,
    );
    console.log(
      `| single crashes (${FAULTS}, ${faultLatencies.length} events): report → stored status, median / p99 | ${fmt(median(faultLatencies), " ms")} / ${fmt(quantile(faultLatencies, 0.99), " ms")} |`,
    );
  } finally {
    await consumer.close();
    hub.close();
    await simulator.stop();
  }
}

/**
 * Azurite for the bench, in memory. Its disk persistence (what the tests'
 * helper uses) slows every write as the table grows to tens of thousands of rows, which would
 * measure the emulator's storage rather than the pipeline.
 */
async function startMemoryAzurite(): Promise<{ connectionString: string; stop(): Promise<void> }> {
  const args = [
    "node_modules/azurite/dist/src/azurite.js",
    ...["--blobHost", "127.0.0.1", "--blobPort", "0", "--queueHost", "127.0.0.1", "--queuePort", "0"],
    ...[
      "--tableHost",
      "127.0.0.1",
      "--tablePort",
      "0",
      "--inMemoryPersistence",
      "--silent",
      "--disableTelemetry",
    ],
  ];
  const child = spawn("node_modules/.bin/node", args, { stdio: ["ignore", "pipe", "inherit"] });
  const exited = once(child, "exit");
  const endpoint = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill("SIGTERM"); // never leave it behind
      reject(new Error("Azurite did not start"));
    }, 30_000);
    createInterface({ input: child.stdout }).on("line", (line) => {
      const match = /Table service is successfully listening at (\S+)/.exec(line);
      if (match) {
        clearTimeout(timer);
        resolve(match[1]!);
      }
    });
  });
  // The emulator's well-known development account (public, documented by Microsoft).
  const key = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==";
  return {
    connectionString: `DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey=${key};TableEndpoint=${endpoint}/devstoreaccount1`,
    async stop() {
      child.kill("SIGTERM");
      await exited;
    },
  };
}

async function main(): Promise<void> {
  if (!(await trustsLocalCa())) {
    clearInterval(memorySampler);
    return;
  }
  const azurite = await startMemoryAzurite();
  try {
    const store = StatusStore.fromConnectionString(azurite.connectionString);
    console.log(`status bench: ${fmt(DEVICES)} devices, ${CONFIGURATIONS} configurations, ${PODS} pods`);
    await throughput(store);
    await endToEnd(store);
    console.log(
      `\npeak RSS (bench process: pipeline, simulator and consumer together): ${fmt(peakRss / 1024 / 1024, " MB")}`,
    );
  } finally {
    clearInterval(memorySampler);
    await azurite.stop();
  }
}

await main();
