// Azurite (the Azure Storage emulator, an npm dependency) as a child process for `npm start`:
// loopback only, free ports, data in a temp directory removed at stop (or in memory when asked:
// benchmarks, whose tables grow until disk persistence measures the emulator rather than the code).
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import path from "node:path";
import { createInterface } from "node:readline";

// The emulator's well-known development account (public, documented by Microsoft).
const account = "devstoreaccount1";
const accountKey = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==";
const startTimeoutMs = 30_000;

export interface LocalAzurite {
  connectionString: string;
  stop(): Promise<void>;
}

export async function startLocalAzurite(options: { inMemory?: boolean } = {}): Promise<LocalAzurite> {
  const location = options.inMemory ? undefined : mkdtempSync(path.join(tmpdir(), "connector-azurite-"));
  const entry = path.join(
    path.dirname(createRequire(import.meta.url).resolve("azurite/package.json")),
    "dist/src/azurite.js",
  );
  const args = [
    entry,
    ...(location ? ["--location", location] : ["--inMemoryPersistence"]),
    "--silent",
    "--disableTelemetry",
    "--skipApiVersionCheck",
  ];
  for (const service of ["blob", "queue", "table"])
    args.push(`--${service}Host`, "127.0.0.1", `--${service}Port`, "0");
  const child = spawn(process.execPath, args, { stdio: ["ignore", "pipe", "pipe"] });
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  const output: string[] = [];
  const endpoints = await new Promise<Record<string, string>>((resolve, reject) => {
    const found: Record<string, string> = {};
    const timer = setTimeout(
      () => reject(new Error(`Azurite did not start:\n${output.join("\n")}`)),
      startTimeoutMs,
    );
    createInterface({ input: child.stdout }).on("line", (line) => {
      output.push(line);
      const match = /Azurite (Blob|Queue|Table) service is successfully listening at (\S+)/.exec(line);
      if (match) found[match[1]!] = match[2]!;
      if (Object.keys(found).length === 3) {
        clearTimeout(timer);
        resolve(found);
      }
    });
    createInterface({ input: child.stderr }).on("line", (line) => output.push(line));
    child.once("exit", (code) => reject(new Error(`Azurite exited with ${code}:\n${output.join("\n")}`)));
  });
  return {
    connectionString: [
      "DefaultEndpointsProtocol=http",
      `AccountName=${account}`,
      `AccountKey=${accountKey}`,
      `BlobEndpoint=${endpoints.Blob}/${account}`,
      `QueueEndpoint=${endpoints.Queue}/${account}`,
      `TableEndpoint=${endpoints.Table}/${account}`,
    ].join(";"),
    async stop() {
      child.kill("SIGTERM");
      await exited;
      if (location) rmSync(location, { recursive: true, force: true });
    },
  };
}
