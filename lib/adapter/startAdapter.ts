// Wires one virtual node: provider client, node controller, pod controller, status writer, kubelet
// API and ops endpoint. Returns a stop that shuts down in reverse order with a bound on draining.
import { readFile } from "node:fs/promises";
import type { Server } from "node:http";
import {
  AuthenticationV1Api,
  AuthorizationV1Api,
  CoordinationV1Api,
  CoreV1Api,
  KubeConfig,
} from "@kubernetes/client-node";
import type { Logger } from "pino";
import type { AdapterConfig } from "./config.js";
import { ConnectionReusingKubeConfig } from "./kubeConnections.js";
import { KubeletAccess } from "./kubeletAccess.js";
import { startKubeletServer } from "./kubeletServer.js";
import { createAdapterMetrics, type AdapterMetrics } from "./metrics.js";
import { NodeController } from "./nodeController.js";
import { startOpsServer } from "./opsServer.js";
import { PodController } from "./podController.js";
import { EventRecorder } from "./podEvents.js";
import type { PodProvider } from "./podProvider.js";
import { PodStatusWriter } from "./podStatusWriter.js";
import { ProviderClient } from "./providerClient.js";

export interface RunningAdapter {
  metrics: AdapterMetrics;
  kubeletPort: number;
  metricsPort: number;
  stop(): Promise<{ drained: boolean }>;
}

export function loadKubeConfig(config: Pick<AdapterConfig, "kubeconfig">): KubeConfig {
  const kubeConfig = new ConnectionReusingKubeConfig();
  if (config.kubeconfig) kubeConfig.loadFromFile(config.kubeconfig);
  else kubeConfig.loadFromCluster();
  return kubeConfig;
}

export async function startAdapter(
  config: AdapterConfig,
  logger: Logger,
  dependencies: { kubeConfig?: KubeConfig; provider?: PodProvider } = {},
): Promise<RunningAdapter> {
  const kubeConfig = dependencies.kubeConfig ?? loadKubeConfig(config);
  const core = kubeConfig.makeApiClient(CoreV1Api);
  const coordination = kubeConfig.makeApiClient(CoordinationV1Api);
  const metrics = createAdapterMetrics();
  const provider =
    dependencies.provider ??
    new ProviderClient({
      baseUrl: config.providerUrl,
      functionKey: config.functionKey,
      hubName: config.hubName,
      nodeName: config.nodeName,
      metrics,
    });
  const events = new EventRecorder(core, config, logger);
  const nodes = new NodeController({ config, core, coordination, provider, events, logger, metrics });
  const pods = new PodController({
    nodeName: config.nodeName,
    kubeConfig,
    core,
    provider,
    events,
    logger,
    metrics,
    reconcileIntervalMs: config.reconcileIntervalMs,
    workers: config.podSyncWorkers,
    notReadyBeforeStart: () => nodes.notReadyBeforeStart,
    ...(config.fleetPolicy !== undefined && {
      policy: { node: config.fleetPolicy, hubName: config.hubName },
    }),
  });
  const statuses = new PodStatusWriter({
    provider,
    core,
    events,
    getPod: (namespace, name) => pods.getPod(namespace, name),
    nodeAddress: config.nodeAddress,
    intervalMs: config.statusIntervalMs,
    logger,
    metrics,
  });
  const servers: Server[] = [];
  const stop = async () => {
    const statusesStopped = statuses.stop(); // no new polls while pod work drains
    nodes.stop();
    const outcome = await pods.stop(config.shutdownTimeoutMs);
    logger.debug({ drained: outcome.drained }, "pod work stopped");
    await statusesStopped;
    await Promise.all(
      servers.map((server) => {
        const closed = new Promise((resolve) => server.close(resolve));
        server.closeAllConnections(); // keep-alive connections (the apiserver's) would hold close open
        return closed;
      }),
    );
    return outcome;
  };
  try {
    servers.push(
      await startOpsServer({
        registry: metrics.registry,
        ready: () => nodes.isRegistered && pods.hasSynced,
        host: config.metricsListenHost,
        port: config.metricsPort,
      }),
    );
    const [cert, key, clientCa] = await Promise.all([
      readFile(config.tlsCertFile),
      readFile(config.tlsKeyFile),
      readFile(config.kubeletClientCaFile),
    ]);
    servers.push(
      await startKubeletServer({
        provider,
        getPod: (namespace, name) => pods.getPod(namespace, name),
        listPods: () => pods.listPods(),
        logger,
        access: new KubeletAccess({
          node: config.nodeName,
          authentication: kubeConfig.makeApiClient(AuthenticationV1Api),
          authorization: kubeConfig.makeApiClient(AuthorizationV1Api),
        }),
        cert,
        key,
        clientCa,
        host: config.kubeletListenHost,
        port: config.kubeletPort,
      }),
    );
    await nodes.start();
    logger.debug("node registered, status and lease written");
    await pods.start();
    logger.debug("pod cache filled and reconciled");
    statuses.start();
  } catch (error) {
    await stop();
    throw error;
  }
  const port = (server: Server | undefined) => {
    const address = server?.address();
    return address && typeof address === "object" ? address.port : 0;
  };
  logger.info({ node: config.nodeName, hub: config.hubName }, "adapter started");
  return { metrics, metricsPort: port(servers[0]), kubeletPort: port(servers[1]), stop };
}
