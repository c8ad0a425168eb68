// The built adapter (`npm run build`) as its own process, as the image runs it (no TypeScript loader
// in its CPU and memory) with the V8 heap bounds the chart gives it (its CPU and memory:
// cpuAccounting.ts).
import { spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import path from "node:path";
import { parse } from "yaml";

const root = path.resolve(import.meta.dirname, "../..");

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
