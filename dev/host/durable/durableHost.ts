// Plugs the Durable extension into the local host: the durable client binding's data, the
// loopback-only RPC endpoint the DurableClient calls, and the key-protected webhooks
// (`/runtime/webhooks/durabletask/...`) that status URLs point at.
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { Logger } from "pino";
import type { HostInvoker } from "../hostInvoker.js";
import { durableWebhookKey, isAuthorized, presentedKey, type HostKeys } from "../hostKeys.js";
import { pathSegments } from "../httpRoutes.js";
import { close, listen } from "../serverLifecycle.js";
import { DurableExtension } from "./durableExtension.js";
import { durableHttpApi } from "./durableHttpApi.js";
import { TaskHubStorage } from "./taskHubStorage.js";
import type { StorageConnection } from "../../../lib/storage/storageConnection.js";

export interface DurableHost {
  extension: DurableExtension;
  /** Answers `/runtime/webhooks/durabletask/...`; false for other paths. */
  handleWebhook(request: IncomingMessage, response: ServerResponse, url: URL): Promise<boolean>;
  stop(): Promise<void>;
}

const webhookBase = ["runtime", "webhooks", "durabletask"];
const rpcBase = "durabletask";

export async function startDurableHost(options: {
  invoker: HostInvoker;
  taskHubName: string;
  storage: StorageConnection;
  keys: HostKeys;
  hostUrl: string;
  logger: Logger;
}): Promise<DurableHost> {
  const { invoker, taskHubName, keys, hostUrl, logger } = options;
  const storage = new TaskHubStorage(options.storage, taskHubName);
  const extension = new DurableExtension({ storage, invoker, taskHubName, logger });
  await extension.start();

  const webhookKey = durableWebhookKey(keys);
  const base = `${hostUrl}/${webhookBase.join("/")}`;
  const query = `taskHub=${taskHubName}&connection=Storage${webhookKey ? `&code=${webhookKey}` : ""}`;
  const managementUrls = (id: string) => ({
    statusQueryGetUri: `${base}/instances/${id}?${query}`,
    sendEventPostUri: `${base}/instances/${id}/raiseEvent/{eventName}?${query}`,
    terminatePostUri: `${base}/instances/${id}/terminate?reason={text}&${query}`,
    rewindPostUri: `${base}/instances/${id}/rewind?reason={text}&${query}`,
    purgeHistoryDeleteUri: `${base}/instances/${id}?${query}`,
    restartPostUri: `${base}/instances/${id}/restart?${query}`,
    suspendPostUri: `${base}/instances/${id}/suspend?reason={text}&${query}`,
    resumePostUri: `${base}/instances/${id}/resume?reason={text}&${query}`,
  });
  const api = durableHttpApi(extension, managementUrls);
  const onFailure = (response: ServerResponse, error: unknown) => {
    logger.error({ err: error }, "durable API request failed");
    if (!response.headersSent) response.writeHead(500).end();
  };

  // The DurableClient's endpoint: loopback only and without keys, as the real host's RPC endpoint.
  const rpcServer = createServer((request, response) => {
    const url = new URL(request.url ?? "/", "http://127.0.0.1");
    const segments = pathSegments(url.pathname);
    if (segments[0] !== rpcBase) {
      response.writeHead(404).end();
      return;
    }
    api(request, response, segments.slice(1), url.searchParams).catch((error: unknown) =>
      onFailure(response, error),
    );
  });
  const rpcPort = await listen(rpcServer, 0);
  const rpcBaseUrl = `http://127.0.0.1:${rpcPort}/${rpcBase}/`;

  const clientData = () => ({
    taskHubName,
    creationUrls: {
      createNewInstancePostUri: `${base}/orchestrators/{functionName}[/{instanceId}]?${query}`,
      createAndWaitOnNewInstancePostUri: `${base}/orchestrators/{functionName}[/{instanceId}]?timeout={timeoutInSeconds}&pollingInterval={intervalInSeconds}&${query}`,
    },
    managementUrls: { id: "INSTANCEID", ...managementUrls("INSTANCEID") },
    baseUrl: base,
    requiredQueryStringParameters: query,
    rpcBaseUrl,
    httpBaseUrl: "",
    maxGrpcMessageSizeInBytes: 0,
    grpcHttpClientTimeout: "00:01:40",
  });
  for (const type of ["durableClient", "orchestrationClient"]) {
    invoker.provideInput(type, () => ({ string: JSON.stringify(clientData()) }));
  }

  return {
    extension,
    async handleWebhook(request, response, url) {
      const segments = pathSegments(url.pathname);
      if (!webhookBase.every((part, index) => segments[index] === part)) return false;
      const presented = presentedKey(request, url);
      const authorized =
        isAuthorized("admin", { master: webhookKey }, presented) || isAuthorized("admin", keys, presented);
      if (!authorized) {
        response.writeHead(401).end();
        return true;
      }
      await api(request, response, segments.slice(webhookBase.length), url.searchParams);
      return true;
    },
    async stop() {
      await close(rpcServer);
      await extension.stop();
    },
  };
}
