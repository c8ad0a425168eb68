// Translation throughput: translates a large batch of realistic pods (every corpus pod that
// translates, each in many namespaces with its own image tag, so no two share an id) many times
// and prints the median pods per second, with and without schema validation, and peak memory.
// Run: npm run bench:translate [-- --runs 15 --pods 5000]
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { parseArgs } from "node:util";
import type { V1Pod } from "@kubernetes/client-node";
import { podToDeployment } from "../lib/translate/podToDeployment.js";
import type { ResolvedReferences } from "../lib/translate/resolvedReferences.js";
import { parseWorkloadDocuments } from "../lib/translate/workloadDocuments.js";

const { values } = parseArgs({
  options: { runs: { type: "string", default: "15" }, pods: { type: "string", default: "5000" } },
});
const runs = Number(values.runs);
const batchSize = Number(values.pods);

interface Sample {
  pod: V1Pod;
  resolved: ResolvedReferences;
}

function corpusSamples(): Sample[] {
  const corpus = join(import.meta.dirname, "../test/translate/corpus");
  const samples: Sample[] = [];
  for (const file of readdirSync(corpus).filter(
    (name) => name.endsWith(".yaml") && !name.startsWith("refuse-"),
  )) {
    const documents = parseWorkloadDocuments(readFileSync(join(corpus, file), "utf8"));
    for (const { pod } of documents.pods) {
      samples.push({ pod, resolved: documents.references(pod.metadata?.namespace ?? "default") });
    }
  }
  return samples;
}

/** The batch: corpus pods spread over namespaces, each with a distinct image tag. */
function batch(samples: readonly Sample[], size: number): Sample[] {
  return Array.from({ length: size }, (_, index) => {
    const sample = samples[index % samples.length]!;
    const pod = structuredClone(sample.pod);
    pod.metadata = { ...pod.metadata, namespace: `site-${index % 97}` };
    for (const container of pod.spec?.containers ?? []) container.image = `${container.image}-b${index}`;
    return { pod, resolved: sample.resolved };
  });
}

function median(numbers: number[]): number {
  const sorted = [...numbers].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
}

function measure(pods: readonly Sample[], validate: boolean): number[] {
  const rates: number[] = [];
  for (let run = 0; run <= runs; run += 1) {
    const start = process.hrtime.bigint();
    for (const { pod, resolved } of pods) podToDeployment(pod, resolved, { validate });
    const seconds = Number(process.hrtime.bigint() - start) / 1e9;
    if (run > 0) rates.push(pods.length / seconds); // run 0 warms up the JIT and compiles the schemas
  }
  return rates;
}

const samples = corpusSamples();
const pods = batch(samples, batchSize);
const report = (label: string, rates: number[]) =>
  console.log(
    `${label.padEnd(26)} median ${Math.round(median(rates)).toLocaleString("en-US").padStart(8)} pods/s` +
      `   (min ${Math.round(Math.min(...rates)).toLocaleString("en-US")}, max ${Math.round(Math.max(...rates)).toLocaleString("en-US")}, ${rates.length} runs)`,
  );

console.log(
  `node ${process.version}, ${pods.length} pods per run from ${samples.length} corpus pods, one thread`,
);
report("translate", measure(pods, false));
report("translate + validate", measure(pods, true));
const { heapUsed, rss } = process.memoryUsage();
console.log(
  `peak RSS ${(process.resourceUsage().maxRSS / 1024).toFixed(0)} MiB (now: RSS ${(rss / 2 ** 20).toFixed(0)} MiB, heap ${(heapUsed / 2 ** 20).toFixed(0)} MiB)`,
);
