// The app's side of the benches' stack, as `npm start` runs it: Azurite (on disk unless asked, its
// requests counted by a proxy), the IoT Hub simulator (S1 x 1, five edge devices tagged dev) and the
// built app on the local host, with one virtual node's key.
import path from "node:path";
import { hubSettingNames } from "../../lib/app/settings.js";
import { startSimulator } from "../../dev/simulator/simulator.js";
import { startLocalAzurite } from "../../dev/localAzurite.js";
import { startHostProcess } from "../../dev/host/hostProcess.js";
import { localNodes, localNodeSettings, type LocalNode } from "../../dev/connector/localNodes.js";
import { freeLoopbackHost } from "../../dev/simulator/loopbackHost.js";
import { startCountingStorageProxy } from "./countingStorageProxy.js";

const root = path.resolve(import.meta.dirname, "../..");

export interface AppStackOptions {
  hub: string;
  node: string;
  inMemoryStorage: boolean;
  /** TASK_HUB_BACKLOG_LIMIT; the app's default unless given */
  backlogLimit?: string;
}

/** Every part that started is handed to `started` (to be stopped), even when another failed to start. */
export async function startAppStack(
  options: AppStackOptions,
  started: <T extends { stop(): Promise<unknown> }>(part: T) => T,
) {
  const [azuritePart, simulatorPart] = await Promise.allSettled([
    startLocalAzurite({ inMemory: options.inMemoryStorage }).then(started),
    freeLoopbackHost().then((host) =>
      startSimulator({
        host,
        hubName: options.hub,
        sku: "S1",
        units: 1,
        devices: Array.from({ length: 5 }, (_, index) => ({
          deviceId: `edge-device-${index + 1}`,
          tags: { environment: "dev" },
        })),
      }).then(started),
    ),
  ]);
  if (azuritePart.status === "rejected") throw azuritePart.reason;
  if (simulatorPart.status === "rejected") throw simulatorPart.reason;
  const [azurite, simulator] = [azuritePart.value, simulatorPart.value];
  const storage = started(await startCountingStorageProxy(azurite.connectionString));
  const names = hubSettingNames(options.hub);
  const [node] = localNodes([{ node: options.node, hub: options.hub }]) as [LocalNode];
  // the built app (package.json main), as `npm start` runs it
  const host = started(
    await startHostProcess({
      appDir: root,
      env: {
        LOG_LEVEL: "info", // its "local host started" line carries the URL
        NODE_EXTRA_CA_CERTS: simulator.caCertPath,
        ...localNodeSettings([node]),
        LOCAL_HOST_MASTER_KEY: "bench-master-key",
        AzureWebJobsStorage: storage.connectionString,
        CONNECTOR_HUBS: options.hub,
        [names.connection]: simulator.iotHubConnectionString,
        [names.eventsConnection]: simulator.eventHubConnectionString,
        [names.eventsName]: options.hub,
        [names.sku]: "S1",
        [names.baseDeployment]: "true",
        ...(options.backlogLimit !== undefined && { TASK_HUB_BACKLOG_LIMIT: options.backlogLimit }),
      },
    }),
  );
  return { azurite, simulator, storage, host, node, providerUrl: `${host.url}/api` };
}
