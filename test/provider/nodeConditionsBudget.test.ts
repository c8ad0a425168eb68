// Node conditions at fleet scale: 10,000 IoT Edge devices on a simulated S1 × 1 hub (20 twin
// queries a minute, counted and throttled by the simulator), the app in a local host, and three
// virtual nodes reading their conditions through the provider API as adapters do (every 10 s) for
// two and a half minutes of the hub's clock, which runs ten times faster than the wall clock here.
// The device counts come from the status pipeline: the only twin queries are its one-time fill.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { HostProcess } from "../../dev/host/hostProcess.js";
import { localNodes } from "../../dev/connector/localNodes.js";
import { startLocalAzurite, type LocalAzurite } from "../../dev/localAzurite.js";
import { startSimulator, type RunningSimulator } from "../../dev/simulator/simulator.js";
import { startAppHost } from "../support/appHost.js";
import { freeLoopbackHost } from "../../dev/simulator/loopbackHost.js";
import { busiestMinute, readNodeConditions } from "../support/nodeConditionReads.js";

const devices = 10_000;
const timeScale = 10;
const hubName = "fleet-hub";
const nodes = localNodes(
  ["edge-node-1", "edge-node-2", "edge-node-3"].map((node) => ({ node, hub: hubName })),
);
const nodeStatusIntervalMs = 10_000;
const hubMinutes = 2.5;

describe("node conditions of three nodes at 10,000 devices on S1 × 1", { timeout: 150_000 }, () => {
  let azurite: LocalAzurite;
  let simulator: RunningSimulator;
  let host: HostProcess;
  const started = Date.now();
  const hubNow = () => started + (Date.now() - started) * timeScale;

  beforeAll(async () => {
    [azurite, simulator] = await Promise.all([
      startLocalAzurite(),
      startSimulator({
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
      }),
    ]);
    host = await startAppHost({ azurite, simulator, nodes });
  });

  afterAll(async () => {
    await host?.stop();
    await simulator?.stop();
    await azurite?.stop();
  });

  it("stays within the hub's twin query budget with no 429, and counts every device", async () => {
    const reads = await readNodeConditions({
      host,
      simulator,
      nodes,
      intervalMs: nodeStatusIntervalMs,
      durationMs: hubMinutes * 60_000,
      hubNow,
      timeScale,
      since: started,
    });
    expect(reads.failures).toBe(0);
    // at least two minutes' worth of every node's ticks (a slow answer delays the next tick)
    expect(reads.answers.length).toBeGreaterThanOrEqual(nodes.length * (120_000 / nodeStatusIntervalMs));
    expect(simulator.stats.throttled.queries).toBe(0);
    expect(busiestMinute(reads.samples)).toBeLessThanOrEqual(20);
    expect(reads.answers.at(-1)).toMatchObject({ devicesTotal: devices, devicesConnected: devices });
  });
});
