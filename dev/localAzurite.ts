// Azurite (the Azure Storage emulator, an npm dependency) as a child process for `npm start`:
// loopback only, free ports, data in a temp directory removed at stop (or in memory when asked:
// benchmarks, whose tables grow until disk persistence measures the emulator rather than the code).
// With `oauth`, it serves HTTPS under a certificate of the local CA and also accepts bearer tokens
// (Azurite's `--oauth basic`: issuer, audience and lifetime are checked, the signature is not).
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import path from "node:path";
import { createInterface } from "node:readline";
import { issueServerCertificate, type LocalCa } from "./simulator/certificates.js";

// The emulator's well-known development account (public, documented by Microsoft).
const account = "devstoreaccount1";
const accountKey = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==";
const startTimeoutMs = 30_000;

export interface LocalAzurite {
  connectionString: string;
  /** the account's service URIs, as `AzureWebJobsStorage__<service>ServiceUri` takes them */
  serviceUris: { blob: string; queue: string; table: string };
  /** its process (benchmarks read its CPU) */
  pid: number | undefined;
  stop(): Promise<void>;
}

export async function startLocalAzurite(
  options: { inMemory?: boolean; oauth?: { ca: LocalCa } } = {},
): Promise<LocalAzurite> {
  const location = options.inMemory ? undefined : mkdtempSync(path.join(tmpdir(), "connector-azurite-"));
  const tlsDirectory = options.oauth && mkdtempSync(path.join(tmpdir(), "connector-azurite-tls-"));
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
  if (options.oauth && tlsDirectory) {
    const { certPem, keyPem } = await issueServerCertificate(options.oauth.ca, "127.0.0.1");
    const cert = path.join(tlsDirectory, "cert.pem");
    const key = path.join(tlsDirectory, "key.pem");
    writeFileSync(cert, certPem);
    writeFileSync(key, keyPem, { mode: 0o600 });
    args.push("--oauth", "basic", "--cert", cert, "--key", key);
  }
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
    pid: child.pid,
    serviceUris: {
      blob: `${endpoints.Blob}/${account}`,
      queue: `${endpoints.Queue}/${account}`,
      table: `${endpoints.Table}/${account}`,
    },
    connectionString: [
      `DefaultEndpointsProtocol=${options.oauth ? "https" : "http"}`,
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
      if (tlsDirectory) rmSync(tlsDirectory, { recursive: true, force: true });
    },
  };
}
