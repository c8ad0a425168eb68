// The Functions app as end-to-end tests run it: the app's own registrations on the local host, its
// durable state in Azurite, one or more simulated hubs in CONNECTOR_HUBS (each with the app's base
// deployment, since the simulated edge devices run layered deployments only on top of one).
import path from "node:path";
import type { V1Pod } from "@kubernetes/client-node";
import { hubSettingNames } from "../../lib/app/settings.js";
import type { NodePodsResponse } from "../../lib/provider/providerContract.js";
import type { RunningSimulator } from "../simulator/simulator.js";
import type { ControlPlane } from "../cluster/controlPlane.js";
import { startLocalAzurite } from "../localAzurite.js";
import { startHostProcess } from "../host/hostProcess.js";

const root = path.resolve(import.meta.dirname, "../..");

export async function startLocalApp(options: {
  hubs: { name: string; simulator: RunningSimulator }[];
  functionKey: string;
  releaseGraceSeconds: number;
  /** more app settings (FLEET_POLICY, ...) */
  env?: Record<string, string>;
}) {
  const azurite = await startLocalAzurite();
  const hubSettings: Record<string, string> = {};
  for (const { name, simulator } of options.hubs) {
    const names = hubSettingNames(name);
    hubSettings[names.connection] = simulator.iotHubConnectionString;
    hubSettings[names.eventsConnection] = simulator.eventHubConnectionString;
    hubSettings[names.eventsName] = name;
    hubSettings[names.baseDeployment] = "true";
  }
  try {
    const host = await startHostProcess({
      appDir: root,
      entry: "functions/*.ts",
      env: {
        LOCAL_HOST_FUNCTION_KEYS: options.functionKey,
        LOCAL_HOST_MASTER_KEY: `${options.functionKey}-master`,
        AzureWebJobsStorage: azurite.connectionString,
        CONNECTOR_HUBS: options.hubs.map((hub) => hub.name).join(","),
        CONFIGURATION_RELEASE_GRACE_SECONDS: String(options.releaseGraceSeconds),
        ...hubSettings,
        ...options.env,
      },
    });
    return {
      url: host.url,
      /** The node's pod list as the adapter reads it (configuration ids included). */
      async nodePods(hub: string, node: string): Promise<NodePodsResponse> {
        const response = await fetch(`${host.url}/api/v1/hubs/${hub}/nodes/${node}/pods`, {
          headers: { "x-functions-key": options.functionKey },
        });
        if (!response.ok) throw new Error(`node pod list answered ${response.status}`);
        return (await response.json()) as NodePodsResponse;
      },
      async stop() {
        await host.stop();
        await azurite.stop();
      },
    };
  } catch (error) {
    await azurite.stop();
    throw error;
  }
}

export type LocalApp = Awaited<ReturnType<typeof startLocalApp>>;

/** The pods `kubectl get pods --selector` lists, as JSON. */
export async function podsSelected(cluster: ControlPlane, selector: string): Promise<V1Pod[]> {
  const { stdout } = await cluster.kubectl(["get", "pods", `--selector=${selector}`, "--output=json"]);
  return (JSON.parse(stdout) as { items: V1Pod[] }).items;
}
