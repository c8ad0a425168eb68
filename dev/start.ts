// `npm start`: the whole connector backend on this machine. Azurite (durable state, pod records,
// status), an IoT Hub simulator with a seeded fleet (S1 x 1, 5 devices tagged environment=dev) unless
// a real hub is configured, and the local Functions host running the built app (dist/functions).
// Registers one virtual node for the (first) hub with a key of its own, unless CONNECTOR_NODES is
// configured, and prints what a client needs (connection string, CA file, app URL, the node's name
// and key); Ctrl-C stops all.
//
//   npm start [-- --settings local.settings.json] [--port 7071] [--devices 5]
// A real hub: CONNECTOR_HUBS and HUB_<NAME>_CONNECTION (and _EVENTS_CONNECTION, _EVENTS_NAME) in the
// environment or the settings file's Values; then no simulator is started.
import { spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { readFileSync } from "node:fs";
import path from "node:path";
import { createInterface } from "node:readline";
import { parseArgs } from "node:util";
import { startedLinePrefix } from "./host/startedLine.js";
import { startSimulator, type RunningSimulator } from "./simulator/simulator.js";
import { startLocalAzurite, type LocalAzurite } from "./localAzurite.js";
import { appSettingNames, hubSettingNames } from "../lib/app/settings.js";
import { localNodes, localNodeSettings, type LocalNode } from "./connector/localNodes.js";

const root = path.resolve(import.meta.dirname, "..");
const simulatedHub = "sim-hub";

function settingsFileValues(file: string | undefined): Record<string, string> {
  if (file === undefined) return {};
  const parsed = JSON.parse(readFileSync(file, "utf8")) as { Values?: Record<string, string> };
  return parsed.Values ?? {};
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: { settings: { type: "string" }, port: { type: "string" }, devices: { type: "string" } },
  });
  const port = values.port ?? "7071";
  const deviceCount = Number(values.devices ?? "5");
  if (!Number.isInteger(deviceCount) || deviceCount < 0 || deviceCount > 10_000)
    throw new Error(`--devices must be a whole number from 0 to 10000, got "${values.devices}"`);
  const configured = { ...settingsFileValues(values.settings), ...process.env };
  const realHub = Boolean(configured[appSettingNames.hubs]);

  const stops: (() => Promise<void>)[] = [];
  const stopAll = async () => {
    for (const stop of stops.reverse()) await stop().catch(() => undefined);
  };
  try {
    const azurite: LocalAzurite = await startLocalAzurite();
    stops.push(() => azurite.stop());
    const env: Record<string, string> = { AzureWebJobsStorage: azurite.connectionString };
    let simulator: RunningSimulator | undefined;
    if (!realHub) {
      simulator = await startSimulator({
        hubName: simulatedHub,
        sku: "S1",
        units: 1,
        devices: Array.from({ length: deviceCount }, (_, index) => ({
          deviceId: `edge-device-${index + 1}`,
          tags: { environment: "dev" },
        })),
      });
      stops.push(() => simulator!.stop());
      const names = hubSettingNames(simulatedHub);
      Object.assign(env, {
        [appSettingNames.hubs]: simulatedHub,
        [names.connection]: simulator.iotHubConnectionString,
        [names.eventsConnection]: simulator.eventHubConnectionString,
        [names.eventsName]: simulatedHub,
        [names.sku]: "S1",
        [names.baseDeployment]: "true",
      });
    }
    const hubs = (configured[appSettingNames.hubs] ?? env[appSettingNames.hubs] ?? "").split(",");
    const firstHub = hubs[0]?.trim() ?? simulatedHub;
    const [node]: (LocalNode | undefined)[] = configured[appSettingNames.nodes]
      ? []
      : localNodes([{ node: `iot-edge-${firstHub.toLowerCase()}`, hub: firstHub }]);
    const hostArgs = ["--import", "tsx", path.join(root, "dev/host/main.ts"), "--app", root, "--port", port];
    if (values.settings) hostArgs.push("--settings", values.settings);
    const host = spawn(process.execPath, hostArgs, {
      cwd: root,
      env: {
        ...process.env,
        ...env,
        ...(simulator ? { NODE_EXTRA_CA_CERTS: simulator.caCertPath } : {}),
        ...(node ? localNodeSettings([node]) : {}),
        LOCAL_HOST_MASTER_KEY: randomBytes(24).toString("base64url"),
      },
      stdio: ["ignore", "pipe", "inherit"],
    });
    const hostExited = new Promise<void>((resolve) => host.once("exit", () => resolve()));
    stops.push(async () => {
      host.kill("SIGTERM");
      await hostExited;
    });
    const url = await new Promise<string>((resolve, reject) => {
      createInterface({ input: host.stdout }).on("line", (line) => {
        if (line.startsWith(startedLinePrefix)) resolve(line.slice(startedLinePrefix.length));
        else process.stderr.write(`${line}\n`);
      });
      host.once("exit", (code) => reject(new Error(`the local host exited with ${code}`)));
    });
    const lines = [
      ...(simulator
        ? [
            `IOTHUB_CONNECTION_STRING=${simulator.iotHubConnectionString}`,
            `NODE_EXTRA_CA_CERTS=${simulator.caCertPath}`,
            `EVENTHUB_CONNECTION_STRING=${simulator.eventHubConnectionString}`,
          ]
        : [`IoT Hub(s): ${configured[appSettingNames.hubs]} (from your settings)`]),
      `APP_URL=${url}/api`,
      ...(node
        ? [`NODE_NAME=${node.node}`, `HUB_NAME=${node.hub}`, `FUNCTION_KEY=${node.key}`]
        : [`Virtual nodes: ${appSettingNames.nodes} from your settings (each with its own key)`]),
      "Ctrl-C stops everything.",
    ];
    // The one place secrets are printed: on purpose, to the user who started it, on stdout.
    process.stdout.write(`${lines.join("\n")}\n`);
    await new Promise<void>((resolve) => {
      process.once("SIGINT", resolve);
      process.once("SIGTERM", resolve);
      void hostExited.then(resolve);
    });
  } finally {
    await stopAll();
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`);
  process.exitCode = 1;
});
