// Benchmarks use the real SDKs against the simulator, whose certificate comes from a local CA.
// Node reads NODE_EXTRA_CA_CERTS only at start, so a benchmark started without it runs itself
// again in a child process that trusts the CA.
import { spawn } from "node:child_process";
import { once } from "node:events";
import { ensureLocalCa } from "../dev/simulator/certificates.js";

/** True when this process already trusts the CA; otherwise runs the child and returns false once it exited (exit code copied). */
export async function trustsLocalCa(): Promise<boolean> {
  const ca = await ensureLocalCa();
  if (process.env["NODE_EXTRA_CA_CERTS"] === ca.certPath) return true;
  const child = spawn(process.execPath, [...process.execArgv, ...process.argv.slice(1)], {
    stdio: "inherit",
    env: { ...process.env, NODE_EXTRA_CA_CERTS: ca.certPath },
  });
  const [code] = (await once(child, "exit")) as [number | null];
  process.exitCode = code ?? 1;
  return false;
}
