// The app's backend for a test: Azurite, the IoT Hub simulator (3 devices tagged environment=dev)
// and the local host running the app's own registrations (TypeScript entry files through tsx).
// The host can be stopped and started again on the same storage and hub.
import { readFileSync } from "node:fs";
import { createHubClient } from "../../lib/hub/createHubClient.js";
import type { HubClient } from "../../lib/hub/hubClient.js";
import { hubSettingNames } from "../../lib/app/settings.js";
import type { ProviderPodStatus } from "../../lib/provider/providerContract.js";
import type { RunningSimulator } from "../../dev/simulator/simulator.js";
import { startLocalAzurite, type LocalAzurite } from "../../dev/localAzurite.js";
import type { HostProcess } from "../../dev/host/hostProcess.js";
import { functionKey, providerCall, startAppHost } from "../support/appHost.js";
import { startTestSimulator } from "../support/testSimulator.js";
import { podFixture } from "../provider/providerFixtures.js";

export const hub = "hub1";
export const node = "edge-node";
export { functionKey, masterKey } from "../support/appHost.js";

export interface AppHarness {
  simulator: RunningSimulator;
  hubClient: HubClient;
  host(): HostProcess;
  /** stops the running host (SIGTERM unless told) and starts another on the same storage */
  restartHost(signal?: NodeJS.Signals): Promise<void>;
  call(route: string, init?: RequestInit, key?: string): Promise<Response>;
  putPod(pod?: ReturnType<typeof podFixture>, target?: string): Promise<Response>;
  podStatus(name: string): Promise<ProviderPodStatus>;
  stop(): Promise<void>;
}

export async function startAppHarness(): Promise<AppHarness> {
  const azurite: LocalAzurite = await startLocalAzurite();
  const simulator = await startTestSimulator({
    hubName: hub,
    evaluationIntervalMs: 200,
    devices: [1, 2, 3].map((n) => ({ deviceId: `dev-${n}`, tags: { environment: "dev" } })),
  });
  const start = () =>
    startAppHost({
      azurite,
      simulator,
      env: { CONFIGURATION_RELEASE_GRACE_SECONDS: "0", [hubSettingNames(hub).baseDeployment]: "true" },
    });
  let host = await start();
  const hubClient = createHubClient(simulator.iotHubConnectionString, {
    trustedCa: readFileSync(simulator.caCertPath, "utf8"),
  });
  const call = (route: string, init: RequestInit = {}, key: string | undefined = functionKey) =>
    providerCall(host, route, init, key);
  return {
    simulator,
    hubClient,
    host: () => host,
    async restartHost(signal) {
      await host.stop(signal);
      host = await start();
    },
    call,
    putPod: (pod = podFixture(), target = `${hub}/namespaces/default/pods/${pod.metadata!.name}`) =>
      call(target, {
        method: "PUT",
        body: JSON.stringify({ node, pod, resolved: { configMaps: {}, secrets: {} } }),
      }),
    podStatus: async (name) =>
      (await (await call(`${hub}/namespaces/default/pods/${name}/status`)).json()) as ProviderPodStatus,
    async stop() {
      hubClient.close();
      await host.stop();
      await simulator.stop();
      await azurite.stop();
    },
  };
}
