// Runs once before vitest forks its workers: makes sure the simulator's local CA exists and has every
// worker trust it. Node reads NODE_EXTRA_CA_CERTS only at process start, so it must be set here, before
// the forks are spawned, not inside a test.
import { ensureLocalCa } from "../dev/simulator/certificates.js";

export default async function setup(): Promise<void> {
  const ca = await ensureLocalCa();
  process.env["NODE_EXTRA_CA_CERTS"] = ca.certPath;
}
