// A long-running control-plane process: started in its own process group with its output in a
// log file, stopped with SIGTERM then SIGKILL, and killed with its group when this Node process
// exits or is signalled, so a crashed or interrupted test leaves no orphans behind.
import { spawn, type ChildProcess } from "node:child_process";
import { closeSync, existsSync, openSync, readFileSync } from "node:fs";

const STOP_GRACE_MS = 10_000;
const LOG_TAIL_CHARS = 4_000;

const running = new Set<BackgroundProcess>();
const cleanupSignals = ["SIGINT", "SIGTERM", "SIGHUP"] as const;

function killAllNow(): void {
  for (const process of running) process.killGroup("SIGKILL");
}

function onSignal(signal: NodeJS.Signals): void {
  killAllNow();
  removeExitHooks();
  // Only ours was listening: restore the default behaviour (terminate) for this signal.
  if (process.listenerCount(signal) === 0) process.kill(process.pid, signal);
}

function installExitHooks(): void {
  if (running.size > 0) return;
  process.on("exit", killAllNow);
  for (const signal of cleanupSignals) process.on(signal, onSignal);
}

function removeExitHooks(): void {
  process.off("exit", killAllNow);
  for (const signal of cleanupSignals) process.off(signal, onSignal);
}

// setpriv --pdeathsig makes the kernel kill the child if this process dies without running
// its exit hooks (SIGKILL, out of memory).
const setprivPath = ["/usr/bin/setpriv", "/bin/setpriv"].find((file) => existsSync(file));

export class BackgroundProcess {
  private readonly child: ChildProcess;
  /** Resolves with the exit code (null when killed by a signal) once the process has exited. */
  readonly exited: Promise<number | null>;
  private hasExited = false;

  constructor(
    readonly name: string,
    file: string,
    args: string[],
    readonly logPath: string,
  ) {
    const log = openSync(logPath, "a");
    try {
      const [command, commandArgs] = setprivPath
        ? [setprivPath, ["--pdeathsig", "KILL", "--", file, ...args]]
        : [file, args];
      installExitHooks();
      this.child = spawn(command, commandArgs, { detached: true, stdio: ["ignore", log, log] });
    } finally {
      closeSync(log);
    }
    running.add(this);
    this.exited = new Promise((resolve) => {
      const onGone = (code: number | null) => {
        if (this.hasExited) return;
        this.hasExited = true;
        running.delete(this);
        if (running.size === 0) removeExitHooks();
        resolve(code);
      };
      this.child.once("exit", onGone);
      // A process that could not be spawned emits no "exit".
      this.child.once("error", (error) => {
        console.error(`${name}: ${error.message}`);
        onGone(null);
      });
    });
  }

  get isRunning(): boolean {
    return !this.hasExited;
  }

  /** The process id while it runs (for its CPU in /proc). */
  get pid(): number | undefined {
    return this.hasExited ? undefined : this.child.pid;
  }

  killGroup(signal: NodeJS.Signals): void {
    if (this.child.pid === undefined) return;
    try {
      process.kill(-this.child.pid, signal);
    } catch {
      // The group is already gone.
    }
  }

  async stop(): Promise<void> {
    if (this.hasExited) return;
    this.killGroup("SIGTERM");
    let timer: NodeJS.Timeout | undefined;
    const graceOver = new Promise<"timeout">((resolve) => {
      timer = setTimeout(() => resolve("timeout"), STOP_GRACE_MS);
    });
    const outcome = await Promise.race([this.exited, graceOver]);
    clearTimeout(timer);
    if (outcome === "timeout") this.killGroup("SIGKILL");
    await this.exited;
  }

  /** The end of the process's log, for error messages. */
  logTail(): string {
    try {
      const text = readFileSync(this.logPath, "utf8");
      return text.length > LOG_TAIL_CHARS ? `...${text.slice(-LOG_TAIL_CHARS)}` : text;
    } catch {
      return "(no log)";
    }
  }
}
