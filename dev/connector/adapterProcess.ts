// Runs lib/adapter/main.ts as its own process (node with tsx's loader, so signals reach it), and
// stops it with SIGTERM as Kubernetes does, SIGKILL after a bound; outage tests kill it outright.
import { spawn } from "node:child_process";
import path from "node:path";

const root = path.resolve(import.meta.dirname, "../..");
const TERMINATE_BOUND_MS = 20_000;

export function startAdapterProcess(args: string[]) {
  const child = spawn(
    path.join(root, "node_modules/.bin/node"),
    ["--import", "tsx", "lib/adapter/main.ts", ...args],
    {
      cwd: root,
      env: { PATH: process.env.PATH, LOG_LEVEL: "info" },
      stdio: ["ignore", "pipe", "pipe"],
    },
  );
  let output = "";
  child.stdout.on("data", (chunk: Buffer) => (output += chunk.toString()));
  child.stderr.on("data", (chunk: Buffer) => (output += chunk.toString()));
  // "close", not "exit": by then the output has been read to the end.
  const exited = new Promise<number | null>((resolve) => child.once("close", (code) => resolve(code)));
  return {
    get output() {
      return output;
    },
    /** Sends a signal as is (SIGKILL: a crash, no shutdown work). */
    signal(signal: NodeJS.Signals): void {
      child.kill(signal);
    },
    async terminate(): Promise<{ code: number | null; output: string }> {
      if (child.exitCode === null && child.signalCode === null) child.kill("SIGTERM");
      const timer = setTimeout(() => child.kill("SIGKILL"), TERMINATE_BOUND_MS);
      const code = await exited;
      clearTimeout(timer);
      return { code, output };
    },
    exited,
  };
}
