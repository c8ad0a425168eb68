// npm run bench:hub — the simulated hub at fleet scale: 10,000 IoT Edge devices and 50 deployments
// (10 base, 40 layered) created through the real azure-iothub Registry. Prints, over several runs: the time
// to register the fleet, the first full evaluation (every device gets its deployments and its edgeAgent
// reports), a steady-state evaluation (nothing changed), listing the 50 deployments with their metrics,
// the routed events per second a real @azure/event-hubs consumer receives, and peak memory.
// Usage: npm run bench:hub -- [--devices 10000] [--deployments 50] [--runs 3] [--consume-seconds 20]
import { EventHubConsumerClient, earliestEventPosition } from "@azure/event-hubs";
import iothub from "azure-iothub";
import { parseArgs } from "node:util";
import { startSimulator } from "../dev/simulator/simulator.js";
import { baseDeployment, layeredDeployment } from "../test/support/deployments.js";
import { freeLoopbackHost } from "../dev/simulator/loopbackHost.js";
import { trustsLocalCa } from "./trustLocalCa.js";

const { values } = parseArgs({
  options: {
    devices: { type: "string", default: "10000" },
    deployments: { type: "string", default: "50" },
    runs: { type: "string", default: "3" },
    "steady-runs": { type: "string", default: "20" },
    "consume-seconds": { type: "string", default: "20" },
  },
});
const DEVICES = Number(values.devices);
const DEPLOYMENTS = Number(values.deployments);
const RUNS = Number(values.runs);
const STEADY_RUNS = Number(values["steady-runs"]);
const CONSUME_SECONDS = Number(values["consume-seconds"]);
const REGIONS = ["eu", "us", "asia", "africa", "oceania"];

let peakRss = 0;
const sampleMemory = () => (peakRss = Math.max(peakRss, process.memoryUsage().rss));
const memorySampler = setInterval(sampleMemory, 50);

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? NaN;
const p95 = (xs: number[]) =>
  [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(xs.length * 0.95))] ?? NaN;
const ms = (x: number) => `${x.toFixed(1)} ms`;

async function timed<T>(work: () => Promise<T> | T): Promise<[T, number]> {
  const started = performance.now();
  const result = await work();
  return [result, performance.now() - started];
}

/** Base deployments by region and ring; layered ones add a module per ring/region combination. */
function deployments(count: number) {
  const bases = Math.max(1, Math.round(count / 5));
  const result = [];
  for (let i = 0; i < count; i += 1) {
    const region = REGIONS[i % REGIONS.length] as string;
    const ring = i % 3;
    result.push(
      i < bases
        ? baseDeployment(`base-${i}`, {
            priority: i,
            targetCondition: `tags.region = '${region}' AND tags.ring >= ${ring}`,
            modules: { app: { image: `example/app:${i}` }, sensor: { image: "example/sensor:1" } },
          })
        : layeredDeployment(`layer-${i}`, {
            priority: i,
            targetCondition: `tags.region = '${region}' AND tags.ring = ${ring} AND tags.environment IN ['prod', 'staging']`,
            modules: { [`addon${i % 7}`]: { image: `example/addon:${i}` } },
          }),
    );
  }
  return result;
}

async function consumeRate(
  connectionString: string,
  expected: number,
): Promise<{ received: number; perSecond: number }> {
  const client = new EventHubConsumerClient("$Default", connectionString);
  let received = 0;
  let first = 0;
  let last = 0;
  const subscription = client.subscribe(
    {
      processEvents: (events) => {
        if (events.length > 0 && first === 0) first = performance.now();
        received += events.length;
        if (events.length > 0) last = performance.now();
        return Promise.resolve();
      },
      processError: () => Promise.resolve(),
    },
    { startPosition: earliestEventPosition, maxBatchSize: 1000, maxWaitTimeInSeconds: 1 },
  );
  const deadline = performance.now() + CONSUME_SECONDS * 1000;
  while (received < expected && performance.now() < deadline)
    await new Promise((resolve) => setTimeout(resolve, 100));
  await subscription.close();
  await client.close();
  return { received, perSecond: last > first ? (received / (last - first)) * 1000 : NaN };
}

async function run(index: number) {
  const host = await freeLoopbackHost();
  const seeds = Array.from({ length: DEVICES }, (_, i) => ({
    deviceId: `edge-${String(i).padStart(5, "0")}`,
    tags: {
      region: REGIONS[i % REGIONS.length] as string,
      ring: i % 4,
      environment: i % 2 === 0 ? "prod" : "dev",
    },
  }));
  const [simulator, startMs] = await timed(() =>
    startSimulator({
      host,
      sku: "unlimited",
      devices: seeds,
      evaluationIntervalMs: 3_600_000,
      runtimeStepMs: 50,
      // Keep every event so the consumer can read them all from the start.
      retainEventsPerPartition: 100_000,
    }),
  );
  try {
    const registry = iothub.Registry.fromConnectionString(simulator.iotHubConnectionString);
    for (const deployment of deployments(DEPLOYMENTS)) await registry.addConfiguration(deployment);
    const [, firstEvaluationMs] = await timed(() => simulator.fleet.evaluateNow());
    sampleMemory();
    const steady: number[] = [];
    for (let i = 0; i < STEADY_RUNS; i += 1)
      steady.push((await timed(() => simulator.fleet.evaluateNow()))[1]);
    const [listed, listMs] = await timed(() => registry.getConfigurations());
    const configurations = listed.responseBody as unknown as {
      systemMetrics: { results: Record<string, number> };
    }[];
    const targeted = configurations.reduce(
      (sum, c) => sum + (c.systemMetrics.results["targetedCount"] ?? 0),
      0,
    );
    const routed = simulator.stats.eventsRouted;
    const consumed = await consumeRate(simulator.eventHubConnectionString, routed);
    sampleMemory();
    console.log(
      `run ${index + 1}: start+register ${ms(startMs)} | first evaluation ${ms(firstEvaluationMs)} | ` +
        `steady evaluation median ${ms(median(steady))} p95 ${ms(p95(steady))} | list ${configurations.length} deployments with metrics ${ms(listMs)} ` +
        `(sum targetedCount ${targeted}) | events routed ${routed}, consumed ${consumed.received} at ${consumed.perSecond.toFixed(0)}/s`,
    );
    return {
      startMs,
      firstEvaluationMs,
      steady: median(steady),
      listMs,
      perSecond: consumed.perSecond,
      routed,
    };
  } finally {
    await simulator.stop();
  }
}

async function main() {
  if (!(await trustsLocalCa())) {
    clearInterval(memorySampler);
    return;
  }
  console.log(
    `hub bench: ${DEVICES} devices, ${DEPLOYMENTS} deployments, ${RUNS} runs, node ${process.version}`,
  );
  const results: Awaited<ReturnType<typeof run>>[] = [];
  for (let i = 0; i < RUNS; i += 1) results.push(await run(i));
  const pick = (key: keyof (typeof results)[number]) => median(results.map((r) => r[key]));
  console.log(
    `median over ${RUNS} runs: start+register ${ms(pick("startMs"))}, first evaluation ${ms(pick("firstEvaluationMs"))}, ` +
      `steady evaluation ${ms(pick("steady"))}, list with metrics ${ms(pick("listMs"))}, ` +
      `consumer ${pick("perSecond").toFixed(0)} events/s, peak RSS ${(peakRss / 1024 / 1024).toFixed(0)} MiB`,
  );
  clearInterval(memorySampler);
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
