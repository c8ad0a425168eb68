// The Functions app as end-to-end tests run it: the app's own registrations on the local host, its
// durable state in Azurite, one or more simulated hubs in CONNECTOR_HUBS (each with the app's base
// deployment, since the simulated edge devices run layered deployments only on top of one), and the
// virtual nodes that may call it, each with its own key (dev/connector/localNodes.ts).
import { randomBytes } from "node:crypto";
import path from "node:path";
import type { V1Pod } from "@kubernetes/client-node";
import { appSettingNames, hubSettingNames } from "../../lib/app/settings.js";
import type { NodePodsResponse } from "../../lib/provider/providerContract.js";
import type { RunningSimulator } from "../simulator/simulator.js";
import type { ControlPlane } from "../cluster/controlPlane.js";
import { startLocalAzurite } from "../localAzurite.js";
import { startHostProcess, type HostProcess } from "../host/hostProcess.js";
import { localNodes, localNodeSettings, type LocalNode } from "./localNodes.js";

const root = path.resolve(import.meta.dirname, "../..");

export async function startLocalApp(options: {
  hubs: { name: string; simulator: RunningSimulator }[];
  /** the virtual nodes that may call the app (a key is made for each) */
  nodes: { node: string; hub: string; cluster?: string }[];
  releaseGraceSeconds: number;
  /** more app settings (FLEET_POLICY, ...) */
  env?: Record<string, string>;
  /** PURGE_SCHEDULE (default: the app's) */
  purgeSchedule?: string;
}) {
  const azurite = await startLocalAzurite();
  const nodes = localNodes(options.nodes);
  const hubSettings: Record<string, string> = {};
  for (const { name, simulator } of options.hubs) {
    const names = hubSettingNames(name);
    hubSettings[names.connection] = simulator.iotHubConnectionString;
    hubSettings[names.eventsConnection] = simulator.eventHubConnectionString;
    hubSettings[names.eventsName] = name;
    hubSettings[names.baseDeployment] = "true";
  }
  const nodeOf = (name: string): LocalNode => {
    const found = nodes.find((node) => node.node === name);
    if (!found) throw new Error(`node ${name} is not registered with the local app`);
    return found;
  };
  const hostOptions = {
    appDir: root,
    entry: "functions/*.ts",
    env: {
      ...localNodeSettings(nodes),
      LOCAL_HOST_MASTER_KEY: randomBytes(24).toString("base64url"),
      AzureWebJobsStorage: azurite.connectionString,
      CONNECTOR_HUBS: options.hubs.map((hub) => hub.name).join(","),
      CONFIGURATION_RELEASE_GRACE_SECONDS: String(options.releaseGraceSeconds),
      ...(options.purgeSchedule ? { [appSettingNames.purgeSchedule]: options.purgeSchedule } : {}),
      ...hubSettings,
      ...options.env,
    },
  };
  try {
    let host: HostProcess | undefined = await startHostProcess(hostOptions);
    const url = host.url;
    const port = Number(new URL(url).port);
    return {
      url,
      storageConnectionString: azurite.connectionString,
      /** The app stops (an outage: SIGKILL for a crash); its durable state stays in Azurite. */
      async stopHost(signal: NodeJS.Signals = "SIGTERM") {
        await host?.stop(signal);
        host = undefined;
      },
      /** The app comes back at the same address, on the same storage. */
      async startHost() {
        host ??= await startHostProcess({ ...hostOptions, port });
      },
      /** The node's registration and its key. */
      node: nodeOf,
      /** The node's pod list as the adapter reads it (configuration ids included), with its own key. */
      async nodePods(hub: string, node: string): Promise<NodePodsResponse> {
        const response = await fetch(`${url}/api/v1/hubs/${hub}/nodes/${node}/pods`, {
          headers: { "x-functions-key": nodeOf(node).key },
        });
        if (!response.ok) throw new Error(`node pod list answered ${response.status}`);
        return (await response.json()) as NodePodsResponse;
      },
      async stop() {
        await host?.stop();
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
