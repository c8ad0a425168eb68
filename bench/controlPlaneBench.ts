// Measures how long startControlPlane() takes from call to ready (apiserver /readyz ok and the
// controller-manager at work) and how long stop() takes, over several runs.
// Usage: npm run bench:control-plane [-- runs]   (binaries from `npm run dev:build-cluster`)
import { startControlPlane } from "../dev/cluster/controlPlane.js";

const runs = Number(process.argv[2] ?? 10);
if (!Number.isInteger(runs) || runs < 1 || runs > 100) {
  throw new Error(`runs must be an integer from 1 to 100, got ${process.argv[2]}`);
}

function summary(label: string, millis: number[]): string {
  const sorted = [...millis].sort((a, b) => a - b);
  const at = (q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? NaN;
  const seconds = (ms: number) => `${(ms / 1000).toFixed(2)} s`;
  return `${label}: median ${seconds(at(0.5))}, p90 ${seconds(at(0.9))}, min ${seconds(sorted[0] ?? NaN)}, max ${seconds(sorted.at(-1) ?? NaN)}`;
}

const startTimes: number[] = [];
const stopTimes: number[] = [];
for (let run = 0; run < runs; run++) {
  const started = performance.now();
  const cluster = await startControlPlane();
  startTimes.push(performance.now() - started);
  const stopping = performance.now();
  await cluster.stop();
  stopTimes.push(performance.now() - stopping);
}
console.log(`control plane, ${runs} runs`);
console.log(summary("start to ready", startTimes));
console.log(summary("stop", stopTimes));
