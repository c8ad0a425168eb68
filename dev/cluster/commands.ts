// Runs a short-lived command (kubectl, helm, openssl) and returns its output, or rejects with
// an error that carries the exit code and stderr.
import { spawn } from "node:child_process";

export interface CommandOutput {
  stdout: string;
  stderr: string;
}

export class CommandFailedError extends Error {
  constructor(
    readonly command: string,
    readonly exitCode: number | null,
    readonly stdout: string,
    readonly stderr: string,
  ) {
    super(`${command} failed (exit ${exitCode ?? "by signal"}): ${stderr.trim() || stdout.trim()}`);
    this.name = "CommandFailedError";
  }
}

export interface RunOptions {
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  /** Written to the command's stdin (e.g. a manifest for `kubectl apply -f -`). */
  input?: string;
  /** Prefix of argv shown in errors instead of the whole command line. */
  displayName?: string;
}

export function runCommand(file: string, args: string[], options: RunOptions = {}): Promise<CommandOutput> {
  const displayName = options.displayName ?? [file, ...args].join(" ");
  return new Promise((resolve, reject) => {
    const child = spawn(file, args, {
      env: options.env ?? process.env,
      cwd: options.cwd,
      stdio: ["pipe", "pipe", "pipe"],
    });
    const stdout: Buffer[] = [];
    const stderr: Buffer[] = [];
    child.stdout.on("data", (chunk: Buffer) => stdout.push(chunk));
    child.stderr.on("data", (chunk: Buffer) => stderr.push(chunk));
    child.once("error", reject);
    child.once("close", (exitCode) => {
      const output = { stdout: Buffer.concat(stdout).toString(), stderr: Buffer.concat(stderr).toString() };
      if (exitCode === 0) resolve(output);
      else reject(new CommandFailedError(displayName, exitCode, output.stdout, output.stderr));
    });
    // A command that exits without reading its input breaks the pipe; its exit code tells why.
    child.stdin.on("error", () => {});
    child.stdin.end(options.input);
  });
}
