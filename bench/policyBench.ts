// What the fleet policy costs: pods decided per second (the corpus pods as bench:translate makes
// them) against the bare translation, under the default policy and under a written one with
// scopes; and the hub scheduler's `want` of a new configuration, which checks module and route
// names against every configuration the hub holds.
// Run: npm run bench:policy [-- --runs 9 --pods 5000 --held 100]
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { parseArgs } from "node:util";
import type { V1Pod } from "@kubernetes/client-node";
import { defaultNodePolicy, parseNodePolicy, type NodePolicy } from "../lib/policy/fleetPolicy.js";
import { decidePod } from "../lib/policy/podPolicy.js";
import { hubBudget } from "../lib/scheduler/hubBudget.js";
import { want } from "../lib/scheduler/hubPlanner.js";
import { newSchedulerState } from "../lib/scheduler/schedulerState.js";
import type { WantConfiguration } from "../lib/scheduler/schedulerContract.js";
import { podToDeployment } from "../lib/translate/podToDeployment.js";
import type { ResolvedReferences } from "../lib/translate/resolvedReferences.js";
import { parseWorkloadDocuments } from "../lib/translate/workloadDocuments.js";

const { values } = parseArgs({
  options: {
    runs: { type: "string", default: "9" },
    pods: { type: "string", default: "5000" },
    held: { type: "string", default: "100" },
  },
});
const runs = Number(values.runs);
const batchSize = Number(values.pods);
const held = Number(values.held);

interface Sample {
  pod: V1Pod;
  resolved: ResolvedReferences;
}

/** The corpus pods that translate and ask for no privileges, spread over namespaces, distinct images. */
function batch(size: number): Sample[] {
  const corpus = join(import.meta.dirname, "../test/translate/corpus");
  const samples: Sample[] = [];
  for (const file of readdirSync(corpus).filter(
    (name) => name.endsWith(".yaml") && !name.startsWith("refuse-"),
  )) {
    const documents = parseWorkloadDocuments(readFileSync(join(corpus, file), "utf8"));
    for (const { pod } of documents.pods) {
      const resolved = documents.references(pod.metadata?.namespace ?? "default");
      if (decidePod({ pod, resolved, node: "n", policy: defaultNodePolicy }).allowed)
        samples.push({ pod, resolved });
    }
  }
  return Array.from({ length: size }, (_, index) => {
    const sample = samples[index % samples.length]!;
    const pod = structuredClone(sample.pod);
    pod.metadata = { ...pod.metadata, namespace: `site-${index % 97}` };
    for (const container of pod.spec?.containers ?? []) container.image = `${container.image}-b${index}`;
    return { pod, resolved: sample.resolved };
  });
}

const median = (numbers: number[]) => [...numbers].sort((a, b) => a - b)[Math.floor(numbers.length / 2)]!;

function rate(pods: readonly Sample[], decide: (sample: Sample) => unknown): number {
  const rates: number[] = [];
  for (let run = 0; run <= runs; run += 1) {
    const start = process.hrtime.bigint();
    for (const sample of pods) decide(sample);
    const seconds = Number(process.hrtime.bigint() - start) / 1e9;
    if (run > 0) rates.push(pods.length / seconds);
  }
  return median(rates);
}

const scoped: NodePolicy = parseNodePolicy({
  scope: "tags.site = 'plant-a'",
  namespaces: {
    "*": { scope: "tags.owner = 'ops'", grants: ["baseDeployment", "runtimeSettings", "anyRoutes"] },
  },
});
const pods = batch(batchSize);
const format = (n: number) => Math.round(n).toLocaleString("en-US").padStart(8);
console.log(`node ${process.version}, ${pods.length} pods per run, ${runs} runs, medians`);
const bare = rate(pods, ({ pod, resolved }) => podToDeployment(pod, resolved, { validate: false }));
const byDefault = rate(pods, ({ pod, resolved }) =>
  decidePod({ pod, resolved, node: "n", policy: defaultNodePolicy, validate: false }),
);
const byScoped = rate(pods, ({ pod, resolved }) =>
  decidePod({ pod, resolved, node: "n", policy: scoped, validate: false }),
);
console.log(`translation alone              ${format(bare)} pods/s`);
console.log(`decided under the default      ${format(byDefault)} pods/s`);
console.log(`decided under scopes           ${format(byScoped)} pods/s`);

// The scheduler: `held` configurations of distinct workloads on the hub, then new ones wanted.
const state = newSchedulerState({ hub: "bench", budget: hubBudget("S1", 1), graceSeconds: 60 }, 0);
const wantOf = (index: number): WantConfiguration => {
  const { configuration, kind } = podToDeployment(
    {
      metadata: {
        name: `app-${index}`,
        namespace: "bench",
        annotations: {
          "iotedge.connector/target-condition": `tags.site = 'plant-a' AND tags.line = '${index}'`,
        },
      },
      spec: { containers: [{ name: `app${index}`, image: "contoso.azurecr.io/app:1" }] },
    },
    undefined,
    { hubName: "bench", validate: false },
  );
  return {
    pod: `bench/app-${index}/uid`,
    node: "n",
    configuration,
    kind,
    modules: { [`app${index}`]: `app${index}` },
  };
};
for (let index = 0; index < held; index += 1) want(state, wantOf(index), 0);
const fresh = Array.from({ length: 200 }, (_, index) => wantOf(held + index));
const start = process.hrtime.bigint();
for (const request of fresh) want(state, request, 0);
const micros = Number(process.hrtime.bigint() - start) / 1e3 / fresh.length;
console.log(`scheduler want of a new configuration, ${held}+ held: ${micros.toFixed(0)} µs each (200 wants)`);
