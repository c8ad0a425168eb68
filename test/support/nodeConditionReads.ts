// Virtual nodes reading their conditions through the provider API as adapters do (every node
// status interval), on the hub's clock, while the simulator's admitted and refused twin queries
// are sampled: what a test and a benchmark of the hub's query budget both run.
import type { HostProcess } from "../../dev/host/hostProcess.js";
import type { RunningSimulator } from "../../dev/simulator/simulator.js";
import type { LocalNode } from "../../dev/connector/localNodes.js";
import type { NodeConditionsResponse } from "../../lib/provider/providerContract.js";
import { providerCall } from "./appHost.js";

export interface NodeConditionReads {
  answers: NodeConditionsResponse[];
  /** answers other than 200 */
  failures: number;
  /** [hub time, queries admitted, queries refused with 429] once a hub second, from `since` */
  samples: [number, number, number][];
}

export async function readNodeConditions(options: {
  host: HostProcess;
  simulator: RunningSimulator;
  /** the nodes reading, each with its own key (registered with the app) */
  nodes: readonly LocalNode[];
  /** the adapter's node status interval, hub time */
  intervalMs: number;
  /** how long to read, hub time */
  durationMs: number;
  hubNow: () => number;
  timeScale: number;
  /** hub time the samples start from (the simulator's start: its fill counts too) */
  since: number;
}): Promise<NodeConditionReads> {
  const { host, simulator, nodes, hubNow } = options;
  const reads: NodeConditionReads = { answers: [], failures: 0, samples: [[options.since, 0, 0]] };
  const sample = () =>
    reads.samples.push([hubNow(), simulator.stats.admitted.queries, simulator.stats.throttled.queries]);
  const end = hubNow() + options.durationMs;
  let nextRead = hubNow();
  while (hubNow() < end) {
    sample();
    if (hubNow() >= nextRead) {
      nextRead += options.intervalMs;
      const responses = await Promise.all(
        nodes.map((node) =>
          providerCall(host, `${simulator.hubName}/nodes/${node.node}/conditions`, {}, node.key),
        ),
      );
      for (const response of responses) {
        if (response.status === 200) reads.answers.push((await response.json()) as NodeConditionsResponse);
        else reads.failures += 1;
      }
    }
    await new Promise((resolve) => setTimeout(resolve, 1_000 / options.timeScale));
  }
  sample();
  return reads;
}

/** The most twin queries the hub admitted within any minute of its clock. */
export function busiestMinute(samples: NodeConditionReads["samples"]): number {
  return Math.max(
    ...samples.map(([at, admitted]) => samples.filter(([t]) => t <= at + 60_000).at(-1)![1] - admitted),
  );
}
