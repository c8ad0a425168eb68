// Starts a simulator for one test file on its own loopback address, with no hub limits unless the test
// asks for a SKU, and a fast deployment cadence.
import {
  startSimulator,
  type RunningSimulator,
  type SimulatorOptions,
} from "../../dev/simulator/simulator.js";
import { freeLoopbackHost } from "../../dev/simulator/loopbackHost.js";

export async function startTestSimulator(options: SimulatorOptions = {}): Promise<RunningSimulator> {
  return startSimulator({
    sku: "unlimited",
    evaluationIntervalMs: 60_000,
    runtimeStepMs: 20,
    runtime: { imagePullMs: 30, crashAfterMs: 60, backoffBaseMs: 40, backoffMaxMs: 400 },
    ...options,
    host: options.host ?? (await freeLoopbackHost()),
  });
}

/** Polls `read` until `accept` holds (bounded: at most `attempts` tries `intervalMs` apart). */
export async function eventually<T>(
  read: () => T | Promise<T>,
  accept: (value: T) => boolean,
  { attempts = 200, intervalMs = 20 } = {},
): Promise<T> {
  let last: T | undefined;
  for (let attempt = 0; attempt < attempts; attempt += 1) {
    last = await read();
    if (accept(last)) return last;
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
  throw new Error(`Condition not met after ${attempts} attempts; last value: ${JSON.stringify(last)}`);
}
