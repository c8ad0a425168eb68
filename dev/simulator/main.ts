// `npm run dev:simulator`: starts a simulated IoT Hub with a fleet of IoT Edge devices and prints, one per
// line, the connection strings and the CA file clients need; runs until SIGINT or SIGTERM.
import { readFile } from "node:fs/promises";
import { parseArgs } from "node:util";
import { z } from "zod";
import type { DeviceSeed } from "./fleet.js";
import type { ModuleFault } from "./simulatedEdgeAgent.js";
import { startSimulator } from "./simulator.js";
import { SKUS, type Sku } from "./skuLimits.js";

const USAGE = `Usage: npm run dev:simulator -- [options]
  --host <ip>                    loopback address to serve on (default 127.0.0.1)
  --port <n>                     HTTPS port (default 443, the only one azure-iothub reaches)
  --amqp-port <n>                Event Hub-compatible endpoint port (default 0: any free port)
  --hub-name <name>              hub name (default sim-hub)
  --devices <n>                  number of simulated IoT Edge devices (default 10)
  --device-prefix <text>         device id prefix (default edge-)
  --tags <json>                  tags for every generated device, e.g. '{"environment":"dev"}'
  --fleet <file.json>            devices from a file: [{"deviceId":"a","tags":{...},"online":true}, ...]
  --evaluation-interval-ms <n>   deployment evaluation cadence (default 2000)
  --sku <F1|S1|S2|S3|unlimited>  limits to enforce (default S1)
  --units <n>                    hub units (default 1)
  --fault <device/module=kind>   inject imagePullFailure or crash, repeatable
  --offline <deviceId>           start a device disconnected, repeatable
  --help`;

const seedSchema = z.array(
  z.object({
    deviceId: z.string().min(1),
    tags: z.record(z.string(), z.json()).optional(),
    online: z.boolean().optional(),
  }),
);

function integer(name: string, text: string | undefined, fallback: number): number {
  if (text === undefined) return fallback;
  const value = Number(text);
  if (!Number.isInteger(value) || value < 0)
    throw new Error(`--${name} must be a non-negative integer, got "${text}"`);
  return value;
}

async function fleetSeeds(values: {
  fleet?: string;
  devices?: string;
  "device-prefix"?: string;
  tags?: string;
}): Promise<DeviceSeed[]> {
  if (values.fleet) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(await readFile(values.fleet, "utf8"));
    } catch (error) {
      throw new Error(`--fleet ${values.fleet}: cannot read JSON (${(error as Error).message})`);
    }
    const result = seedSchema.safeParse(parsed);
    if (!result.success) {
      const issue = result.error.issues[0];
      throw new Error(`--fleet ${values.fleet}: [${issue?.path.join(".")}] ${issue?.message}`);
    }
    return result.data;
  }
  let tags: DeviceSeed["tags"];
  if (values.tags !== undefined) {
    try {
      tags = JSON.parse(values.tags) as DeviceSeed["tags"];
    } catch {
      throw new Error(`--tags must be a JSON object, got ${values.tags}`);
    }
    if (typeof tags !== "object" || tags === null || Array.isArray(tags))
      throw new Error("--tags must be a JSON object");
  }
  const count = integer("devices", values.devices, 10);
  const prefix = values["device-prefix"] ?? "edge-";
  const width = String(Math.max(count - 1, 0)).length;
  return Array.from({ length: count }, (_, i) => ({
    deviceId: `${prefix}${String(i).padStart(width, "0")}`,
    ...(tags && { tags }),
  }));
}

function parseFault(text: string): { deviceId: string; moduleName: string; fault: ModuleFault } {
  const match = /^([^/]+)\/([^=]+)=(imagePullFailure|crash)$/.exec(text);
  if (!match)
    throw new Error(
      `--fault must look like device/module=imagePullFailure or device/module=crash, got "${text}"`,
    );
  return { deviceId: match[1] as string, moduleName: match[2] as string, fault: match[3] as ModuleFault };
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      host: { type: "string" },
      port: { type: "string" },
      "amqp-port": { type: "string" },
      "hub-name": { type: "string" },
      devices: { type: "string" },
      "device-prefix": { type: "string" },
      tags: { type: "string" },
      fleet: { type: "string" },
      "evaluation-interval-ms": { type: "string" },
      sku: { type: "string" },
      units: { type: "string" },
      fault: { type: "string", multiple: true },
      offline: { type: "string", multiple: true },
      help: { type: "boolean" },
    },
  });
  if (values.help) {
    console.log(USAGE);
    return;
  }
  const sku = (values.sku ?? "S1") as Sku;
  if (!SKUS.includes(sku)) throw new Error(`--sku must be one of ${SKUS.join(", ")}, got "${values.sku}"`);
  const offline = new Set(values.offline ?? []);
  const faults = (values.fault ?? []).map(parseFault);
  const devices = (await fleetSeeds(values)).map((seed) =>
    offline.has(seed.deviceId) ? { ...seed, online: false } : seed,
  );

  const simulator = await startSimulator({
    hubName: values["hub-name"] ?? "sim-hub",
    host: values.host ?? "127.0.0.1",
    httpsPort: integer("port", values.port, 443),
    amqpPort: integer("amqp-port", values["amqp-port"], 0),
    sku,
    units: integer("units", values.units, 1),
    devices,
    evaluationIntervalMs: integer("evaluation-interval-ms", values["evaluation-interval-ms"], 2_000),
  });
  for (const { deviceId, moduleName, fault } of faults)
    simulator.fleet.injectFault(deviceId, moduleName, fault);

  console.log(`IOTHUB_CONNECTION_STRING=${simulator.iotHubConnectionString}`);
  console.log(`EVENTHUB_CONNECTION_STRING=${simulator.eventHubConnectionString}`);
  console.log(`NODE_EXTRA_CA_CERTS=${simulator.caCertPath}`);
  console.error(
    `Simulated hub ${simulator.hubName} (${sku} x${values.units ?? 1}) with ${simulator.fleet.size} IoT Edge devices on https://${simulator.host}:${simulator.httpsPort} and amqp://${simulator.host}:${simulator.amqpPort}. Ctrl+C stops it.`,
  );

  await new Promise<void>((resolve) => {
    process.once("SIGINT", resolve);
    process.once("SIGTERM", resolve);
  });
  await simulator.stop();
}

main().catch((error: unknown) => {
  console.error(`simulator: ${error instanceof Error ? error.message : String(error)}`);
  process.exitCode = 1;
});
