// The local Functions host: loads the app's registrations and runs them (HTTP, durable,
// timer and Event Hubs triggers) without Core Tools.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { pino, type Logger } from "pino";
import { HostInvoker } from "./hostInvoker.js";
import type { HostKeys } from "./hostKeys.js";
import { httpTriggerHandler } from "./httpTriggers.js";
import { loadApp } from "./loadApp.js";
import { applySettings, readLocalSettings, type AppSettings } from "./localSettings.js";

export interface LocalHostOptions {
  /** Folder with the app's package.json (its `main` names the entry files) and host.json. */
  appDir: string;
  /** Entry path or glob relative to appDir, instead of package.json `main`. */
  entry?: string;
  /** A local.settings.json whose `Values` become environment variables of the app. */
  settingsFile?: string;
  /** More settings, applied after the file's. */
  settings?: AppSettings;
  /** Port on 127.0.0.1; 0 picks a free one. Default 7071. */
  port?: number;
  keys?: HostKeys;
  logger?: Logger;
}

export interface LocalHost {
  /** Base URL of the HTTP server, e.g. http://127.0.0.1:7071 */
  url: string;
  functions: string[];
  stop(): Promise<void>;
}

const loopback = "127.0.0.1";

export function listen(server: Server, port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, loopback, () => {
      server.off("error", reject);
      resolve((server.address() as AddressInfo).port);
    });
  });
}

export function close(server: Server): Promise<void> {
  return new Promise((resolve) => {
    server.close(() => resolve());
    server.closeAllConnections();
  });
}

export async function startLocalHost(options: LocalHostOptions): Promise<LocalHost> {
  const logger = options.logger ?? pino({ name: "local-host" });
  const settings = applySettings({
    ...(options.settingsFile ? readLocalSettings(options.settingsFile) : {}),
    ...options.settings,
  });
  logger.debug({ settings: Object.keys(settings) }, "app settings applied");
  const keys = options.keys ?? {};

  const app = await loadApp({ appDir: options.appDir, entry: options.entry });
  app.core.logSink = (level, category, message) => logger.debug({ level, category }, message);
  const invoker = new HostInvoker(app.core, logger);
  const onError = (functionName: string, error: unknown) =>
    logger.error({ function: functionName, err: error }, "function invocation failed");

  const httpTriggers = httpTriggerHandler({
    functions: app.functions,
    routePrefix: app.routePrefix,
    keys,
    invoker,
    onError,
  });
  const handle = async (request: IncomingMessage, response: ServerResponse) => {
    const url = new URL(request.url ?? "/", `http://${request.headers.host ?? loopback}`);
    if (!(await httpTriggers(request, response, url))) response.writeHead(404).end();
  };
  const server = createServer((request, response) => {
    handle(request, response).catch((error: unknown) => {
      logger.error({ err: error }, "request failed");
      if (!response.headersSent) response.writeHead(500).end();
    });
  });
  const port = await listen(server, options.port ?? 7071);
  const url = `http://${loopback}:${port}`;
  process.env.WEBSITE_HOSTNAME = `${loopback}:${port}`;
  logger.info({ url, functions: app.functions.map((f) => f.metadata.name) }, "local host started");

  return {
    url,
    functions: app.functions.map((f) => f.metadata.name),
    async stop() {
      await close(server);
      logger.info("local host stopped");
    },
  };
}
