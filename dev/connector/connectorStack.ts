// The whole connector on one machine for end-to-end tests and benchmarks: a real control plane with
// the chart installed for one virtual node of the simulator's hub, the adapter as its own process
// with the chart's ServiceAccount, and the Functions app on the local host. The simulator stays the
// caller's (it is often shared with other checks); `stop` ends what was started here, in reverse.
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { createHubClient } from "../../lib/hub/createHubClient.js";
import { startControlPlane, type ControlPlaneOptions } from "../cluster/controlPlane.js";
import type { RunningSimulator } from "../simulator/simulator.js";
import { startAdapterProcess } from "./adapterProcess.js";
import { installChartForAdapter } from "./installedAdapter.js";
import { startLocalApp } from "./localApp.js";

export interface ConnectorStackOptions {
  simulator: RunningSimulator;
  hub: string;
  node: string;
  /** seconds a released configuration stays on the hub (default 2) */
  releaseGraceSeconds?: number;
  /** more app settings (e.g. FLEET_POLICY) */
  appEnv?: Record<string, string>;
  controlPlane?: ControlPlaneOptions;
  /** namespaces created before the chart and served by the node (default: default) */
  namespaces?: string[];
}

export async function startConnectorStack(options: ConnectorStackOptions) {
  const { simulator, hub: hubName, node, namespaces } = options;
  const dir = await mkdtemp(path.join(tmpdir(), "connector-stack-"));
  const cluster = await startControlPlane(options.controlPlane);
  const app = await startLocalApp({
    hubs: [{ name: hubName, simulator }],
    nodes: [{ node, hub: hubName }],
    releaseGraceSeconds: options.releaseGraceSeconds ?? 2,
    ...(options.appEnv ? { env: options.appEnv } : {}),
  });
  const hub = createHubClient(simulator.iotHubConnectionString);
  for (const namespace of namespaces ?? []) {
    if (namespace !== "default") await cluster.kubectl(["create", "namespace", namespace]);
  }
  const { adapterArgs } = await installChartForAdapter({
    cluster,
    dir,
    node,
    hub: hubName,
    providerUrl: `${app.url}/api`,
    key: app.node(node).key,
    ...(namespaces ? { namespaces } : {}),
  });
  let adapter = startAdapterProcess(adapterArgs);
  return {
    cluster,
    app,
    hub,
    /** the chart's flags for the adapter of this node */
    adapterArgs,
    /** the adapter process running now */
    get adapter() {
      return adapter;
    },
    /** Starts a new adapter process (after the last one was stopped or killed), with more flags if given. */
    startAdapter(extraArgs: string[] = []) {
      adapter = startAdapterProcess([...adapterArgs, ...extraArgs]);
      return adapter;
    },
    async stop(): Promise<void> {
      await adapter.terminate();
      hub.close();
      await app.stop();
      await cluster.stop();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

export type ConnectorStack = Awaited<ReturnType<typeof startConnectorStack>>;
