// Runs the local host's CLI (dev/host/main.ts) as a child process for tests: a real process, so a
// test can kill it mid-orchestration and start another on the same storage.
import { spawn, type ChildProcess } from "node:child_process";
import { appendFileSync } from "node:fs";
import path from "node:path";
import { createInterface } from "node:readline";
import { startedLinePrefix } from "./startedLine.js";

const root = path.resolve(import.meta.dirname, "../..");
export const fixtureApp = path.join(root, "test/dev/host/fixtures/app");

export interface HostProcess {
  url: string;
  /** the host's process id (for memory readings), undefined once it exited */
  readonly pid: number | undefined;
  /** Every line the host wrote (pino JSON lines and anything else). */
  output: string[];
  /** The first output line containing `text`, waiting (bounded) for the host to write it. */
  waitForLine(text: string): Promise<string>;
  stop(signal?: NodeJS.Signals): Promise<void>;
}

export async function startHostProcess(options: {
  settingsFile?: string;
  env?: Record<string, string>;
  appDir?: string;
  /** Entry glob instead of the fixture app's package.json main (e.g. only its HTTP functions). */
  entry?: string;
  /** Port on 127.0.0.1 (a host started again where the last one was); default a free one. */
  port?: number;
}): Promise<HostProcess> {
  const args = [
    path.join(root, "dev/host/main.ts"),
    "--app",
    options.appDir ?? fixtureApp,
    "--port",
    String(options.port ?? 0),
  ];
  if (options.settingsFile) args.push("--settings", options.settingsFile);
  if (options.entry) args.push("--entry", options.entry);
  // One process (node with tsx's loader), so that a signal reaches the host itself.
  const child: ChildProcess = spawn(path.join(root, "node_modules/.bin/node"), ["--import", "tsx", ...args], {
    cwd: root,
    env: { ...process.env, LOG_LEVEL: "debug", ...options.env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  const output: string[] = [];
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`host did not start:\n${output.join("\n")}`)), 60_000);
    for (const stream of [child.stdout!, child.stderr!]) {
      createInterface({ input: stream }).on("line", (line) => {
        output.push(line);
        // a failing end-to-end test's host, for reading afterwards: HOST_OUTPUT_FILE=/tmp/host.log npx vitest ...
        if (process.env.HOST_OUTPUT_FILE) appendFileSync(process.env.HOST_OUTPUT_FILE, `${line}\n`);
        if (line.startsWith(startedLinePrefix)) {
          clearTimeout(timer);
          resolve(line.slice(startedLinePrefix.length));
        }
      });
    }
    child.once("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`host exited with ${code}:\n${output.join("\n")}`));
    });
  });
  return {
    url,
    get pid() {
      return child.exitCode === null && child.signalCode === null ? child.pid : undefined;
    },
    output,
    async waitForLine(text) {
      for (let attempt = 0; attempt < 200; attempt++) {
        const line = output.find((l) => l.includes(text));
        if (line !== undefined) return line;
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
      throw new Error(`the host wrote no line containing "${text}"`);
    },
    async stop(signal = "SIGTERM") {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      const killLater = setTimeout(() => child.kill("SIGKILL"), 40_000);
      await exited;
      clearTimeout(killLater);
    },
  };
}
