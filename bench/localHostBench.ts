// Benchmark of the local host (run: npm run bench:local-host): HTTP trigger latency, and durable
// orchestration latency and throughput on Azurite. Many runs, medians and percentiles; no test
// asserts on time.
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { startLocalAzurite } from "../dev/localAzurite.js";
import { startHostProcess, type HostProcess } from "../dev/host/hostProcess.js";

const httpRequests = 500;
const sequentialOrchestrations = 20;
const concurrentOrchestrations = 50;

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

function summary(samples: number[]): string {
  const sorted = [...samples].sort((a, b) => a - b);
  return `median ${percentile(sorted, 50).toFixed(1)} ms, p95 ${percentile(sorted, 95).toFixed(1)} ms (n=${samples.length})`;
}

async function completion(host: HostProcess, instanceId: string, pollMs: number): Promise<void> {
  for (let attempt = 0; attempt < 60_000 / pollMs; attempt++) {
    const response = await fetch(`${host.url}/api/orders/${instanceId}`);
    const status = (await response.json()) as { runtimeStatus: string };
    if (status.runtimeStatus === "Completed") return;
    if (status.runtimeStatus === "Failed") throw new Error(`${instanceId} failed`);
    await new Promise((resolve) => setTimeout(resolve, pollMs));
  }
  throw new Error(`${instanceId} did not complete`);
}

async function startOrchestration(host: HostProcess, instanceId: string): Promise<void> {
  const response = await fetch(`${host.url}/api/orders/shipAll/${instanceId}`, {
    method: "POST",
    body: JSON.stringify(["valve", "pump"]),
  });
  if (response.status !== 202) throw new Error(`start of ${instanceId} answered ${response.status}`);
}

async function measure(host: HostProcess): Promise<void> {
  const httpSamples: number[] = [];
  for (let i = 0; i < httpRequests; i++) {
    const started = performance.now();
    const response = await fetch(`${host.url}/api/hello/bench`);
    await response.arrayBuffer();
    httpSamples.push(performance.now() - started);
  }
  console.log(`HTTP trigger GET /api/hello: ${summary(httpSamples)}`);

  const orchestrationSamples: number[] = [];
  for (let i = 0; i < sequentialOrchestrations; i++) {
    const started = performance.now();
    await startOrchestration(host, `seq-${i}`);
    await completion(host, `seq-${i}`, 20);
    orchestrationSamples.push(performance.now() - started);
  }
  console.log(
    `orchestration with 2 parallel activities, start to Completed: ${summary(orchestrationSamples)}`,
  );

  const batchStarted = performance.now();
  const ids = Array.from({ length: concurrentOrchestrations }, (_, i) => `par-${i}`);
  await Promise.all(ids.map((id) => startOrchestration(host, id)));
  // Polled slowly, so that the polling itself (an HTTP trigger and a storage read each) stays a small load.
  await Promise.all(ids.map((id) => completion(host, id, 250)));
  const seconds = (performance.now() - batchStarted) / 1000;
  console.log(
    `${concurrentOrchestrations} concurrent orchestrations: ${seconds.toFixed(1)} s, ` +
      `${(concurrentOrchestrations / seconds).toFixed(1)} orchestrations/s`,
  );
}

const azurite = await startLocalAzurite();
let host: HostProcess | undefined;
const workDir = mkdtempSync(path.join(tmpdir(), "local-host-bench-"));
const settingsFile = path.join(workDir, "local.settings.json");
writeFileSync(
  settingsFile,
  JSON.stringify({
    Values: {
      AzureWebJobsStorage: azurite.connectionString,
      FIXTURE_INVOCATIONS_FILE: path.join(workDir, "invocations.txt"),
      FIXTURE_TICK_SCHEDULE: "0 0 0 1 1 *",
      FIXTURE_TICKS_FILE: path.join(workDir, "ticks.txt"),
    },
  }),
);
try {
  host = await startHostProcess({ settingsFile, env: { LOG_LEVEL: "info" } });
  await measure(host);
} finally {
  await host?.stop();
  await azurite.stop();
  rmSync(workDir, { recursive: true, force: true });
}
