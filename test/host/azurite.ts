// Starts Azurite (the Azure Storage emulator, an npm package) for a test: loopback, free ports,
// data in a temp directory that is removed at stop.
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { createInterface } from "node:readline";

const root = path.resolve(import.meta.dirname, "../..");
// The well-known development account of the emulator (public, documented by Microsoft).
const account = "devstoreaccount1";
const accountKey = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==";

export interface Azurite {
  connectionString: string;
  stop(): Promise<void>;
}

export async function startAzurite(): Promise<Azurite> {
  const location = mkdtempSync(path.join(tmpdir(), "azurite-"));
  const args = [
    path.join(root, "node_modules/azurite/dist/src/azurite.js"),
    ...["--blobHost", "127.0.0.1", "--blobPort", "0"],
    ...["--queueHost", "127.0.0.1", "--queuePort", "0"],
    ...["--tableHost", "127.0.0.1", "--tablePort", "0"],
    ...["--location", location, "--silent", "--disableTelemetry", "--skipApiVersionCheck"],
  ];
  const child = spawn(path.join(root, "node_modules/.bin/node"), args, { stdio: ["ignore", "pipe", "pipe"] });
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  const output: string[] = [];
  const endpoints = await new Promise<Record<string, string>>((resolve, reject) => {
    const found: Record<string, string> = {};
    const timer = setTimeout(() => reject(new Error(`Azurite did not start:\n${output.join("\n")}`)), 30_000);
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
  const connectionString = [
    "DefaultEndpointsProtocol=http",
    `AccountName=${account}`,
    `AccountKey=${accountKey}`,
    `BlobEndpoint=${endpoints.Blob}/${account}`,
    `QueueEndpoint=${endpoints.Queue}/${account}`,
    `TableEndpoint=${endpoints.Table}/${account}`,
  ].join(";");
  return {
    connectionString,
    async stop() {
      child.kill("SIGTERM");
      await exited;
      rmSync(location, { recursive: true, force: true });
    },
  };
}
