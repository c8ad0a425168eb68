// The app's backend for a test: Azurite, the IoT Hub simulator (3 devices tagged environment=dev)
// and the local host running the app's own registrations (TypeScript entry files through tsx), with
// a few virtual nodes registered, each with its own key (two of them of the same name, in two
// clusters). The host can be stopped and started again on the same storage and hub.
import { readFileSync } from "node:fs";
import { createHubClient } from "../../lib/hub/createHubClient.js";
import type { HubClient } from "../../lib/hub/hubClient.js";
import { hubSettingNames } from "../../lib/app/settings.js";
import type { ProviderPodStatus } from "../../lib/provider/providerContract.js";
import type { RunningSimulator } from "../../dev/simulator/simulator.js";
import { startLocalAzurite, type LocalAzurite } from "../../dev/localAzurite.js";
import type { HostProcess } from "../../dev/host/hostProcess.js";
import {
  appHostEnvironment,
  masterKey,
  providerCall,
  startAppHost,
  type AppHostOptions,
  type ProviderCallOptions,
} from "../support/appHost.js";
import { startTestSimulator } from "../support/testSimulator.js";
import { podFixture } from "../provider/providerFixtures.js";
import { localNodes, type LocalNode } from "../../dev/connector/localNodes.js";
import { ensureLocalCa } from "../../dev/simulator/certificates.js";
import { LocalTokenIssuer } from "../../dev/simulator/localTokenIssuer.js";
import { startManagedIdentityEndpoint } from "../../dev/simulator/managedIdentityEndpoint.js";

/** Azurite's OAuth mode takes tokens only from issuers that look like Entra ID's. */
const entraLikeIssuer = "https://sts.windows.net/00000000-0000-4000-8000-00000000cafe/";

export const hub = "hub1";
export const node = "edge-node";
export const cluster = "cluster-a";
export { masterKey };

/** The nodes registered with the app: `edge-node` (the default caller) and others to tell apart. */
const registered = localNodes(
  [
    { node, hub },
    { node: "quiet-node", hub },
    { node: "reconcile-node", hub },
    { node: "other-node", hub },
    { node: "plant-a", hub }, // the node of the fleet policy attack corpus (test/policy)
    { node, hub, cluster: "cluster-b" },
  ],
  cluster,
);

/** The key of a registered node (in cluster-a unless told). */
export function keyOf(name: string, inCluster = cluster): string {
  const found = registered.find((entry: LocalNode) => entry.node === name && entry.cluster === inCluster);
  if (!found) throw new Error(`no node ${name} in ${inCluster}`);
  return found.key;
}

export interface AppHarness {
  simulator: RunningSimulator;
  /** Azurite, where the app keeps its pod records and durable state */
  storageConnectionString: string;
  hubClient: HubClient;
  /** the settings the host runs the app with */
  appSettings: Record<string, string>;
  host(): HostProcess;
  /** stops the running host (SIGTERM unless told) and starts another on the same storage */
  restartHost(signal?: NodeJS.Signals): Promise<void>;
  /** honours a 503's Retry-After unless told (test/support/appHost.ts) */
  call(route: string, init?: RequestInit, key?: string, options?: ProviderCallOptions): Promise<Response>;
  putPod(
    pod?: ReturnType<typeof podFixture>,
    target?: string,
    as?: { node: string; key: string },
  ): Promise<Response>;
  podStatus(name: string, key?: string): Promise<ProviderPodStatus>;
  stop(): Promise<void>;
}

/**
 * `env`: more app settings (FLEET_POLICY, ...) on top of the harness's own. `identity`: no key in the
 * app's settings; it reaches Azurite (OAuth mode), the hub and its events with its managed identity,
 * tokens from a local App Service identity endpoint signed by an issuer both trust.
 */
export async function startAppHarness(
  options: { env?: Record<string, string>; identity?: boolean } = {},
): Promise<AppHarness> {
  const issuer = options.identity ? new LocalTokenIssuer(entraLikeIssuer) : undefined;
  const identity = issuer && (await startManagedIdentityEndpoint({ issuer }));
  const azurite: LocalAzurite = await startLocalAzurite(
    identity ? { oauth: { ca: await ensureLocalCa() } } : {},
  );
  const simulator = await startTestSimulator({
    hubName: hub,
    evaluationIntervalMs: 200,
    devices: [1, 2, 3].map((n) => ({ deviceId: `dev-${n}`, tags: { environment: "dev" } })),
    ...(issuer && { trustedTokenIssuers: [issuer] }),
  });
  const hostOptions: AppHostOptions = {
    azurite,
    simulator,
    ...(identity && { identity: identity.environment }),
    nodes: registered,
    env: {
      CONFIGURATION_RELEASE_GRACE_SECONDS: "0",
      [hubSettingNames(hub).baseDeployment]: "true",
      ...options.env,
    },
  };
  const start = () => startAppHost(hostOptions);
  let host = await start();
  const hubClient = createHubClient(simulator.iotHubConnectionString, {
    trustedCa: readFileSync(simulator.caCertPath, "utf8"),
  });
  const call = (
    route: string,
    init: RequestInit = {},
    key: string | undefined = keyOf(node),
    options?: ProviderCallOptions,
  ) => providerCall(host, route, init, key, options);
  return {
    simulator,
    storageConnectionString: azurite.connectionString,
    appSettings: appHostEnvironment(hostOptions),
    hubClient,
    host: () => host,
    async restartHost(signal) {
      await host.stop(signal);
      host = await start();
    },
    call,
    putPod: (
      pod = podFixture(),
      target = `${hub}/namespaces/default/pods/${pod.metadata!.name}`,
      as = { node, key: keyOf(node) },
    ) =>
      call(
        target,
        {
          method: "PUT",
          body: JSON.stringify({ node: as.node, pod, resolved: { configMaps: {}, secrets: {} } }),
        },
        as.key,
      ),
    podStatus: async (name, key) =>
      (await (
        await call(`${hub}/namespaces/default/pods/${name}/status`, {}, key)
      ).json()) as ProviderPodStatus,
    async stop() {
      hubClient.close();
      await host.stop();
      await simulator.stop();
      await azurite.stop();
      await identity?.stop();
    },
  };
}
