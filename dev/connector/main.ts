// `npm run dev:connector`: the whole connector on this machine, kept up until Ctrl-C — the backend of
// `npm start` (Azurite, the IoT Hub simulator with 5 devices tagged environment=dev, the Functions
// app on the local host), a fresh Kubernetes control plane, the chart installed, and the adapter
// running with the chart's ServiceAccount as the virtual node npm start registered
// (`iot-edge-sim-hub`, with its own key). Prints the
// KUBECONFIG to use; then `kubectl apply` a pod that selects the node (see docs/adapter.md).
// With `--demo FILE` (`npm run demo`) it applies FILE, waits for its pods to run, shows them, deletes
// them and stops everything: the main job, start to finish.
import { spawn } from "node:child_process";
import { mkdir, rm } from "node:fs/promises";
import path from "node:path";
import { createInterface } from "node:readline";
import { parseArgs } from "node:util";
import { readAdapterConfig } from "../../lib/adapter/config.js";
import { createAdapterLogger } from "../../lib/adapter/logger.js";
import { startAdapter } from "../../lib/adapter/startAdapter.js";
import { startControlPlane } from "../cluster/controlPlane.js";
import { runConnectorDemo } from "./connectorDemo.js";
import { installChartForAdapter } from "./installedAdapter.js";

const root = path.resolve(import.meta.dirname, "../..");
/** Starts the `npm start` backend and reads the app URL and the node's name, hub and key it prints. */
function startBackend() {
  const backend = spawn(path.join(root, "node_modules/.bin/node"), ["--import", "tsx", "dev/start.ts"], {
    cwd: root,
    stdio: ["ignore", "pipe", "inherit"],
  });
  const exited = new Promise<void>((resolve) => backend.once("exit", () => resolve()));
  const printed = new Promise<{ appUrl: string; node: string; hub: string; key: string }>(
    (resolve, reject) => {
      const found: Record<string, string> = {};
      createInterface({ input: backend.stdout }).on("line", (line) => {
        const [name = "", ...value] = line.split("=");
        if (["APP_URL", "NODE_NAME", "HUB_NAME", "FUNCTION_KEY"].includes(name))
          found[name] = value.join("=");
        // the hub in use, printed as npm start does, so a user can look at it with the SDK or tools
        if (name === "IOTHUB_CONNECTION_STRING" || name === "NODE_EXTRA_CA_CERTS")
          process.stdout.write(`${line}\n`);
        const { APP_URL: appUrl, NODE_NAME: node, HUB_NAME: hub, FUNCTION_KEY: key } = found;
        if (appUrl && node && hub && key) resolve({ appUrl, node, hub, key });
      });
      backend.once("exit", (code) => reject(new Error(`the backend (npm start) exited with ${code}`)));
    },
  );
  const stop = async () => {
    backend.kill("SIGTERM");
    await exited;
  };
  return { printed, stop };
}

const { values: flags } = parseArgs({ options: { demo: { type: "string" } } });
/** Fails instead of waiting forever: the demo runs unattended in CI. */
function within<T>(promise: Promise<T>, seconds: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} did not happen within ${seconds} s`)), seconds * 1000);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

const dir = path.join(root, ".cache/dev-connector");
await rm(dir, { recursive: true, force: true });
await mkdir(dir, { recursive: true });
const backend = startBackend();
const stops: (() => Promise<void>)[] = [backend.stop];
try {
  const [{ appUrl, node, hub, key }, cluster] = await Promise.all([
    within(backend.printed, 180, "the backend (npm start) printing its URL and key"),
    startControlPlane({ dir: path.join(dir, "cluster") }),
  ]);
  stops.push(() => cluster.stop());
  const { adapterArgs } = await installChartForAdapter({ cluster, dir, node, hub, key, providerUrl: appUrl });
  const adapter = await startAdapter(
    readAdapterConfig({}, [...adapterArgs, "--status-interval-ms=2000"]),
    createAdapterLogger(process.env.LOG_LEVEL ?? "info"),
  );
  stops.push(async () => void (await adapter.stop()));
  process.stdout.write(
    [
      `Virtual node ${node} (IoT Hub ${hub}) is up.`,
      `  export KUBECONFIG=${cluster.kubeconfigPath}`,
      "  .cache/bin/kubectl get nodes; .cache/bin/kubectl apply -f <a pod or Deployment selecting the node>",
      "Ctrl-C stops everything.",
      "",
    ].join("\n"),
  );
  if (flags.demo !== undefined) {
    await runConnectorDemo(cluster, node, path.resolve(flags.demo));
  } else {
    await new Promise<void>((resolve) => {
      process.once("SIGINT", resolve);
      process.once("SIGTERM", resolve);
    });
  }
} catch (error) {
  process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`);
  process.exitCode = 1;
} finally {
  for (const stop of stops.reverse()) await stop().catch(() => undefined);
}
