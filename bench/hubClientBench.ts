// What the hub client costs on top of azure-iothub: twin reads through createHubClient versus the bare
// SDK Registry on the same connection settings, against the simulator (unlimited SKU) on loopback,
// and the cost of redact() on error-sized messages. Many runs, percentiles; no assertions.
//   npm run bench:hub-client [-- reads=2000]

import { readFileSync } from "node:fs";
import { performance } from "node:perf_hooks";
import { createHubClient } from "../lib/hub/createHubClient.js";
import { redact } from "../lib/hub/redact.js";
import { connectSdk, parseHubConnectionString } from "../lib/hub/sdkConnection.js";
import { startTestSimulator } from "../test/support/testSimulator.js";

const reads = Number(/^reads=(\d+)$/.exec(process.argv[2] ?? "")?.[1] ?? 1000);

function percentiles(samples: number[]): string {
  const sorted = [...samples].sort((a, b) => a - b);
  const at = (p: number) => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? NaN;
  return `p50 ${at(50).toFixed(3)} ms, p95 ${at(95).toFixed(3)} ms, p99 ${at(99).toFixed(3)} ms`;
}

async function timeEach(count: number, run: () => Promise<unknown>): Promise<number[]> {
  const samples: number[] = [];
  for (let index = 0; index < count; index += 1) {
    const started = performance.now();
    await run();
    samples.push(performance.now() - started);
  }
  return samples;
}

const sim = await startTestSimulator({ devices: [{ deviceId: "dev-1", tags: { env: "prod" } }] });
try {
  const trustedCa = readFileSync(sim.caCertPath, "utf8");
  const hub = createHubClient(sim.iotHubConnectionString, { trustedCa });
  const bare = connectSdk(parseHubConnectionString(sim.iotHubConnectionString), { trustedCa });

  // Warm both connections and the JIT before measuring.
  await timeEach(100, () => hub.getDeviceTwin("dev-1"));
  await timeEach(100, () => bare.registry.getTwin("dev-1"));

  const bareSamples = await timeEach(reads, () => bare.registry.getTwin("dev-1"));
  const clientSamples = await timeEach(reads, () => hub.getDeviceTwin("dev-1"));
  console.log(`device twin reads, ${reads} sequential each, simulator on loopback:`);
  console.log(`  bare azure-iothub Registry.getTwin: ${percentiles(bareSamples)}`);
  console.log(`  HubClient.getDeviceTwin:            ${percentiles(clientSamples)}`);
  hub.close();
  bare.close();

  const key = Buffer.alloc(32, 7).toString("base64");
  const message =
    `read configuration "web-1a2b": unauthorized: token SharedAccessSignature sr=${sim.host}&sig=abc%2Bdef%3D&se=1&skn=iothubowner ` +
    `rejected for https://${sim.host}/configurations?sig=abc (HTTP 401 IotHubUnauthorizedAccess)`;
  const runs = 100_000;
  const started = performance.now();
  for (let index = 0; index < runs; index += 1) redact(message, [key]);
  const microseconds = ((performance.now() - started) * 1000) / runs;
  console.log(
    `redact() of a ${message.length}-character error message: ${microseconds.toFixed(2)} µs each (${runs} runs)`,
  );
} finally {
  await sim.stop();
}
