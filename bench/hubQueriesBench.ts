// npm run bench:hub-queries — twin queries the app spends on node conditions at fleet scale:
// 10,000 IoT Edge devices on a simulated S1 × 1 hub (20 twin queries a minute, counted and
// throttled by the simulator), the app's registrations in a local host, and three virtual nodes
// reading their conditions through the provider API every 10 s (the adapter's default) for ten
// minutes of the hub's clock. Prints queries a minute (admitted and refused with 429), per node,
// and what the last answers said. The status pipeline's one-time fill of the device states
// (2 paged queries, 20 pages at 10,000 devices) is part of the totals.
// Usage: npm run bench:hub-queries -- [--minutes 10] [--devices 10000] [--nodes 3] [--time-scale 1]
import { parseArgs } from "node:util";
import { localNodes } from "../dev/connector/localNodes.js";
import { startLocalAzurite } from "../dev/localAzurite.js";
import { startSimulator } from "../dev/simulator/simulator.js";
import { startAppHost } from "../test/support/appHost.js";
import { freeLoopbackHost } from "../dev/simulator/loopbackHost.js";
import { busiestMinute, readNodeConditions } from "../test/support/nodeConditionReads.js";
import { trustsLocalCa } from "./trustLocalCa.js";

const { values } = parseArgs({
  options: {
    minutes: { type: "string", default: "10" },
    devices: { type: "string", default: "10000" },
    nodes: { type: "string", default: "3" },
    "time-scale": { type: "string", default: "1" },
  },
});
const minutes = Number(values.minutes);
const devices = Number(values.devices);
const hubName = "fleet-hub";
const nodes = localNodes(
  Array.from({ length: Number(values.nodes) }, (_, i) => ({ node: `edge-node-${i + 1}`, hub: hubName })),
);
const timeScale = Number(values["time-scale"]);
const nodeStatusIntervalMs = 10_000;

async function main(): Promise<void> {
  if (!(await trustsLocalCa())) return;
  const azurite = await startLocalAzurite();
  const started = Date.now();
  const hubNow = () => started + (Date.now() - started) * timeScale;
  const simulator = await startSimulator({
    hubName,
    host: await freeLoopbackHost(),
    sku: "S1",
    units: 1,
    now: () => new Date(hubNow()),
    evaluationIntervalMs: 3_600_000,
    devices: Array.from({ length: devices }, (_, i) => ({
      deviceId: `edge-${String(i).padStart(5, "0")}`,
      tags: { site: `site-${i % 20}` },
    })),
  });
  const host = await startAppHost({ azurite, simulator, nodes, env: { LOG_LEVEL: "warn" } });
  try {
    console.log(
      `hub queries: ${devices.toLocaleString("en-US")} devices on S1 × 1, ${nodes.length} nodes reading conditions every ${nodeStatusIntervalMs / 1000} s for ${minutes} minutes of the hub's clock (${timeScale}× the wall clock)`,
    );
    const reads = await readNodeConditions({
      host,
      simulator,
      nodes,
      intervalMs: nodeStatusIntervalMs,
      durationMs: minutes * 60_000,
      hubNow,
      timeScale,
      since: started,
    });
    const [, admitted, throttled] = reads.samples.at(-1)!;
    const elapsedMinutes = (reads.samples.at(-1)![0] - started) / 60_000;
    const perMinute = (count: number) => (count / elapsedMinutes).toFixed(1);
    const last = reads.answers.at(-1);
    console.log(`| measure | value |`);
    console.log(`|---|---|`);
    console.log(`| node condition reads answered / failed | ${reads.answers.length} / ${reads.failures} |`);
    console.log(`| twin queries admitted, per minute | ${admitted} (${perMinute(admitted)}/min) |`);
    console.log(`| twin queries admitted, busiest minute | ${busiestMinute(reads.samples)} |`);
    console.log(`| twin queries refused with 429, per minute | ${throttled} (${perMinute(throttled)}/min) |`);
    console.log(
      `| queries a minute per node (admitted + refused) | ${perMinute((admitted + throttled) / nodes.length)} |`,
    );
    console.log(
      `| last answer: devices total / connected | ${last ? `${last.devicesTotal} / ${last.devicesConnected}` : "none"} |`,
    );
  } finally {
    await host.stop();
    await simulator.stop();
    await azurite.stop();
  }
}

await main();
