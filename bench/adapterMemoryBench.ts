// bench:adapter-memory — the adapter's resident memory against the number of pods on its node: the
// built adapter as its own process (chart RBAC) on the real control plane, with the contract
// stand-in provider (test/adapter/support/contractProvider.ts, which runs every pod at once), so
// the figures are the adapter's alone, free of the hub's pace. Per run: RSS before the apply, peak
// RSS (VmHWM) until every pod is Running and a few status polls after, and RSS at the end.
// `--heap-snapshot` writes a V8 heap snapshot of the adapter once all pods run (into --dir).
// The adapter runs with the chart's nodeOptions (values.yaml) unless --node-options says otherwise.
//   npm run bench:adapter-memory -- [--pods 1000 --deployments 10 --runs 1 --node-options="--max-old-space-size=128"]
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { parseArgs } from "node:util";
import { startControlPlane } from "../dev/cluster/controlPlane.js";
import { installChartForAdapter } from "../dev/connector/installedAdapter.js";
import { ContractProvider } from "../test/adapter/support/contractProvider.js";
import { chartNodeOptions, startBuiltAdapter } from "./support/builtAdapter.js";
import { processUsage } from "./support/cpuAccounting.js";
import { sensorWorkload } from "./support/sensorWorkload.js";

const NODE = "vk-memory";
const KEY = "memory-bench-key";
const POLL_MS = 1_000;
const MAX_POLLS = 900; // fifteen minutes per run
const STATUS_INTERVAL_MS = 5_000; // the chart's default

const { values } = parseArgs({
  options: {
    pods: { type: "string", default: "1000" },
    deployments: { type: "string", default: "10" },
    runs: { type: "string", default: "1" },
    "node-options": { type: "string" },
    "heap-snapshot": { type: "boolean", default: false },
    dir: { type: "string", default: tmpdir() },
  },
});
const podCount = Number(values.pods);
const deploymentCount = Number(values.deployments);
const runs = Number(values.runs);
const nodeOptions = values["node-options"] ?? chartNodeOptions();
if (!Number.isInteger(podCount / deploymentCount))
  throw new Error("--pods must be a multiple of --deployments");
const replicas = podCount / deploymentCount;

const workload = () => sensorWorkload({ deployments: deploymentCount, replicas, bench: "memory" });

interface RunResult {
  idleRssMiB: number;
  peakRssMiB: number;
  endRssMiB: number;
  cpuSeconds: number;
  runningAfterS: number;
}

async function run(): Promise<RunResult> {
  const dir = await mkdtemp(path.join(tmpdir(), "adapter-memory-"));
  const [cluster, provider] = await Promise.all([startControlPlane(), ContractProvider.start(KEY)]);
  provider.capacityPods = podCount + 10;
  let adapter: ReturnType<typeof startBuiltAdapter> | undefined;
  try {
    const { adapterArgs } = await installChartForAdapter({
      cluster,
      dir,
      node: NODE,
      hub: "hub1",
      providerUrl: provider.baseUrl,
      key: KEY,
    });
    const snapshotOptions = `--heapsnapshot-signal=SIGUSR2 --diagnostic-dir=${values.dir}`;
    const started = startBuiltAdapter(
      [
        ...adapterArgs,
        `--status-interval-ms=${STATUS_INTERVAL_MS}`,
        "--node-status-interval-ms=10000",
        "--lease-interval-ms=10000",
        `--capacity-pods=${podCount + 10}`,
      ],
      values["heap-snapshot"] ? `${nodeOptions} ${snapshotOptions}` : nodeOptions,
    );
    adapter = started;
    const runningCount = async () => {
      const { stdout } = await cluster.kubectl([
        "get",
        "pods",
        "--selector=bench=memory",
        "--field-selector=status.phase=Running",
        "--output=name",
      ]);
      return stdout.split("\n").filter(Boolean).length;
    };
    const until = async (what: string, check: () => Promise<boolean>) => {
      for (let poll = 0; poll < MAX_POLLS; poll++) {
        if (!started.running()) throw new Error(`the adapter exited before ${what}`);
        if (await check()) return;
        await sleep(POLL_MS);
      }
      throw new Error(`gave up waiting until ${what}`);
    };
    await until("the node is Ready", async () => {
      const { stdout } = await cluster.kubectl([
        "get",
        "node",
        NODE,
        "--ignore-not-found",
        "--output=jsonpath={.status.conditions[?(@.type=='Ready')].status}",
      ]);
      return stdout.trim() === "True";
    });
    await sleep(2_000);
    const idle = processUsage(started.pid);
    const applied = performance.now();
    await cluster.kubectl(["apply", "--filename=-"], workload());
    await until(`${podCount} pods Running`, async () => (await runningCount()) === podCount);
    const runningAfterS = (performance.now() - applied) / 1000;
    await sleep(3 * STATUS_INTERVAL_MS); // status long-polls and watch events with every pod on the node
    const end = processUsage(started.pid); // before a snapshot, which needs memory of its own
    if (values["heap-snapshot"]) {
      started.signal("SIGUSR2");
      await sleep(15_000);
    }
    return {
      idleRssMiB: idle.rssMiB,
      peakRssMiB: end.peakRssMiB,
      endRssMiB: end.rssMiB,
      cpuSeconds: end.cpuSeconds - idle.cpuSeconds,
      runningAfterS,
    };
  } finally {
    await adapter?.stop();
    await provider.stop();
    await cluster.stop();
    await rm(dir, { recursive: true, force: true });
  }
}

const results: RunResult[] = [];
for (let index = 0; index < runs; index++) {
  const result = await run();
  results.push(result);
  console.log(
    `run ${index + 1}: ${podCount} pods Running after ${result.runningAfterS.toFixed(0)} s; adapter RSS idle ` +
      `${result.idleRssMiB.toFixed(0)} MiB, peak ${result.peakRssMiB.toFixed(0)} MiB, end ` +
      `${result.endRssMiB.toFixed(0)} MiB, CPU ${result.cpuSeconds.toFixed(1)} s`,
  );
}
const peaks = results.map((r) => r.peakRssMiB).sort((a, b) => a - b);
console.log(
  `${podCount} pods (${deploymentCount} x ${replicas}), NODE_OPTIONS "${nodeOptions}": peak RSS median ` +
    `${peaks[Math.floor(peaks.length / 2)]?.toFixed(0)} MiB, min ${peaks[0]?.toFixed(0)}, max ${peaks.at(-1)?.toFixed(0)} MiB`,
);
