// bench:status-push — device report → status visible to kubectl, end to end: the real control plane,
// the adapter (startAdapter, the chart's RBAC), the app's own registrations on the local host
// (Azurite, the status pipeline on the simulator's Event Hub), the simulator's edge devices.
// One Deployment of `--replicas` pods on `--devices` devices; once every pod runs, a module crashes
// on one device after the other, and each crash is timed from the device's report (the event's
// enqueued time) to the moment the pods' status, read from the apiserver every 10 ms, counts it.
// The adapter polls every --status-interval-ms where the app cannot long-poll (the chart's 5 s).
// Usage: npm run bench:status-push -- [--devices 30] [--replicas 2] [--faults 30] [--status-interval-ms 5000]
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { parseArgs } from "node:util";
import { CoreV1Api, KubeConfig } from "@kubernetes/client-node";
import { pino } from "pino";
import { readAdapterConfig } from "../lib/adapter/config.js";
import { startAdapter } from "../lib/adapter/startAdapter.js";
import { hubSettingNames } from "../lib/app/settings.js";
import { startControlPlane } from "../dev/cluster/controlPlane.js";
import { installChartForAdapter } from "../dev/connector/installedAdapter.js";
import { localNodes, localNodeSettings, type LocalNode } from "../dev/connector/localNodes.js";
import { startHostProcess } from "../dev/host/hostProcess.js";
import { startLocalAzurite } from "../dev/localAzurite.js";
import { startSimulator, type RunningSimulator } from "../dev/simulator/simulator.js";
import { freeLoopbackHost } from "../dev/simulator/loopbackHost.js";
import { sensorWorkload } from "./support/sensorWorkload.js";

const { values } = parseArgs({
  options: {
    devices: { type: "string", default: "30" },
    replicas: { type: "string", default: "2" },
    faults: { type: "string", default: "30" },
    // the chart's default: the adapter's poll (the long-poll's fallback; before it, the only way)
    "status-interval-ms": { type: "string", default: "5000" },
  },
});
const DEVICES = Number(values.devices);
const REPLICAS = Number(values.replicas);
const FAULTS = Math.min(Number(values.faults), DEVICES);
const HUB = "hub1";
const NODE = "vk-status";
const MODULE = "sensor0"; // sensorWorkload's first Deployment
const [registered] = localNodes([{ node: NODE, hub: HUB }]) as [LocalNode];
const root = path.resolve(import.meta.dirname, "..");
const deviceId = (i: number) => `dev-${String(i).padStart(3, "0")}`;

function percentile(samples: number[], p: number): number {
  const sorted = [...samples].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? NaN;
}

/** When `device` first reported the module in `runtimeStatus` after `after` (the event's enqueued time). */
function reportedAt(
  simulator: RunningSimulator,
  device: string,
  runtimeStatus: string,
  after: number,
): number | undefined {
  for (const partitionId of simulator.eventLog.partitionIds) {
    for (const event of simulator.eventLog.read(partitionId, 0, Number.MAX_SAFE_INTEGER)) {
      const body = event.body as {
        properties?: { reported?: { modules?: Record<string, { runtimeStatus?: string }> } };
      };
      const at = Number(event.annotations["iothub-enqueuedtime"]);
      if (
        at > after &&
        String(event.annotations["iothub-connection-device-id"]) === device &&
        body.properties?.reported?.modules?.[MODULE]?.runtimeStatus === runtimeStatus
      )
        return at;
    }
  }
  return undefined;
}

async function main(): Promise<void> {
  const dir = await mkdtemp(path.join(tmpdir(), "status-push-bench-"));
  const [cluster, azurite, simulator] = await Promise.all([
    startControlPlane(),
    startLocalAzurite({ inMemory: true }),
    startSimulator({
      host: await freeLoopbackHost(),
      hubName: HUB,
      sku: "unlimited",
      evaluationIntervalMs: 200,
      runtimeStepMs: 20,
      // a crashed module stays in backoff through the run: each crash adds one failed device
      runtime: { imagePullMs: 50, crashAfterMs: 100, backoffBaseMs: 600_000, backoffMaxMs: 600_000 },
      devices: Array.from({ length: DEVICES }, (_, i) => ({
        deviceId: deviceId(i),
        tags: { environment: "dev" },
      })),
    }),
  ]);
  const names = hubSettingNames(HUB);
  const host = await startHostProcess({
    appDir: root,
    entry: "functions/*.ts",
    env: {
      ...localNodeSettings([registered]),
      LOG_LEVEL: "warn",
      NODE_EXTRA_CA_CERTS: simulator.caCertPath,
      LOCAL_HOST_MASTER_KEY: "status-push-bench-master-key",
      AzureWebJobsStorage: azurite.connectionString,
      CONNECTOR_HUBS: HUB,
      [names.connection]: simulator.iotHubConnectionString,
      [names.eventsConnection]: simulator.eventHubConnectionString,
      [names.eventsName]: HUB,
      [names.baseDeployment]: "true",
    },
  });
  const { adapterArgs } = await installChartForAdapter({
    cluster,
    dir,
    node: NODE,
    hub: HUB,
    providerUrl: `${host.url}/api`,
    key: registered.key,
  });
  const args = [
    ...adapterArgs.filter((arg) => !arg.startsWith("--status-interval-ms")),
    `--status-interval-ms=${values["status-interval-ms"]}`,
  ];
  const adapter = await startAdapter(readAdapterConfig({}, args), pino({ level: "warn" }));
  const kubeConfig = new KubeConfig();
  kubeConfig.loadFromFile(cluster.kubeconfigPath);
  const core = kubeConfig.makeApiClient(CoreV1Api);
  const podMessages = async () =>
    (await core.listNamespacedPod({ namespace: "default", labelSelector: "app=sensor-0" })).items.map(
      (pod) => `${pod.status?.phase ?? ""} ${pod.status?.message ?? ""}`,
    );
  try {
    await cluster.kubectl(
      ["apply", "--filename=-"],
      sensorWorkload({ deployments: 1, replicas: REPLICAS, bench: "status-push" }),
    );
    const running = `running on ${DEVICES}/${DEVICES} devices`;
    for (let attempt = 0; ; attempt += 1) {
      const messages = await podMessages();
      if (
        messages.length === REPLICAS &&
        messages.every((m) => m.startsWith("Running") && m.includes(running))
      )
        break;
      if (attempt > 240) throw new Error(`pods never all ran: ${messages.join("; ")}`);
      await sleep(500);
    }
    console.log(
      `${REPLICAS} pods Running on ${DEVICES} devices; ${FAULTS} crashes, one device after the other`,
    );
    const latencies: number[] = [];
    for (let f = 0; f < FAULTS; f += 1) {
      const failed = `, ${f + 1} failed`;
      const injected = Date.now();
      simulator.fleet.injectFault(deviceId(f), MODULE, "crash");
      let seen: number | undefined;
      for (let poll = 0; poll < 3_000; poll += 1) {
        if ((await podMessages()).every((m) => m.includes(failed))) {
          seen = Date.now();
          break;
        }
        await sleep(10);
      }
      const reported = reportedAt(simulator, deviceId(f), "backoff", injected - 1);
      if (seen === undefined || reported === undefined)
        throw new Error(`crash ${f + 1} never showed: ${(await podMessages()).join("; ")}`);
      latencies.push(seen - reported);
    }
    console.log(
      `device report → kubectl-visible status over ${latencies.length} crashes: p50 ${percentile(latencies, 50)} ms, p99 ${percentile(latencies, 99)} ms, max ${Math.max(...latencies)} ms`,
    );
  } finally {
    await adapter.stop();
    await host.stop();
    await simulator.stop();
    await azurite.stop();
    await cluster.stop();
    await rm(dir, { recursive: true, force: true });
  }
}

await main();
