// The built adapter (`npm run build`) as its own process, as the image runs it (no TypeScript loader
// in its CPU and memory) with the V8 heap bounds the chart gives it, and its CPU and resident
// memory from the kernel's accounting.
import { spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import path from "node:path";
import { parse } from "yaml";

const root = path.resolve(import.meta.dirname, "../..");
const CLOCK_TICKS_PER_SECOND = 100; // USER_HZ on Linux (getconf CLK_TCK)

/**
 * CPU (user + system), current and peak resident memory of a process; `withChildren` adds the CPU of
 * its children that exited (the kubectl runs of a bench).
 */
export function processUsage(
  pid: number,
  options: { withChildren?: boolean } = {},
): { cpuSeconds: number; rssMiB: number; peakRssMiB: number } {
  // fields after the parenthesised command name: state is field 3, utime 14, stime 15, cutime 16, cstime 17
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  const ticks = [11, 12, ...(options.withChildren ? [13, 14] : [])].reduce(
    (total, index) => total + Number(fields[index]),
    0,
  );
  const status = readFileSync(`/proc/${pid}/status`, "utf8");
  const kib = (field: string) => Number(new RegExp(`${field}:\\s+(\\d+) kB`).exec(status)?.[1]);
  return {
    cpuSeconds: ticks / CLOCK_TICKS_PER_SECOND,
    rssMiB: kib("VmRSS") / 1024,
    peakRssMiB: kib("VmHWM") / 1024,
  };
}

/** The chart's `nodeOptions` (values.yaml): the NODE_OPTIONS its adapter Deployments run with. */
export function chartNodeOptions(): string {
  const values = parse(readFileSync(path.join(root, "charts/iot-edge-connector/values.yaml"), "utf8")) as {
    nodeOptions?: string;
  };
  return values.nodeOptions ?? "";
}

/** `nodeOptions` replace the chart's (V8 heap bounds, --heapsnapshot-signal). */
export function startBuiltAdapter(args: string[], nodeOptions = chartNodeOptions()) {
  const child = spawn(
    path.join(root, "node_modules/.bin/node"),
    [path.join(root, "dist/lib/adapter/main.js"), ...args],
    {
      cwd: root,
      env: {
        PATH: process.env.PATH,
        LOG_LEVEL: "warn",
        NODE_OPTIONS: `${nodeOptions} ${process.env.ADAPTER_EXTRA_NODE_OPTIONS ?? ""}`,
      },
      stdio: ["ignore", "ignore", "inherit"],
    },
  );
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  if (child.pid === undefined) throw new Error("the adapter process did not start");
  return {
    pid: child.pid,
    running: () => child.exitCode === null && child.signalCode === null,
    signal: (signal: NodeJS.Signals) => child.kill(signal),
    async stop() {
      if (child.exitCode === null && child.signalCode === null) child.kill("SIGTERM");
      const killLater = setTimeout(() => child.kill("SIGKILL"), 20_000);
      await exited;
      clearTimeout(killLater);
    },
  };
}
