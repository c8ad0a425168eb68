// The local Functions host: loads the app's registrations and runs them (HTTP, durable,
// timer and Event Hubs triggers) without Core Tools.
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import { pino, type Logger } from "pino";
import { HostInvoker } from "./hostInvoker.js";
import type { HostKeys } from "./hostKeys.js";
import { functionsNeedingMissingKeys, httpTriggerHandler } from "./httpTriggers.js";
import { loadApp } from "./loadApp.js";
import { applySettings, readLocalSettings, type AppSettings } from "./localSettings.js";
import { close, listen, loopback } from "./serverLifecycle.js";
import { startDurableHost, type DurableHost } from "./durable/durableHost.js";
import type { Registration } from "./functionsCore.js";
import { TimerTriggers } from "./timerTriggers.js";
import { EventHubTriggers } from "./eventHubTriggers.js";
import { readEventHubOptions } from "./eventHubOptions.js";
import { retryPolicyOf } from "./retryPolicy.js";
import { hostStorageConnection } from "./hostStorage.js";

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
  /** Storage for durable state (Azurite locally); default: the AzureWebJobsStorage setting. */
  storageConnectionString?: string;
  logger?: Logger;
}

export interface LocalHost {
  /** Base URL of the HTTP server, e.g. http://127.0.0.1:7071 */
  url: string;
  functions: string[];
  /** The task hub when the app has durable functions. */
  taskHubName?: string;
  stop(): Promise<void>;
}

const durableBindingTypes = new Set([
  "orchestrationTrigger",
  "activityTrigger",
  "entityTrigger",
  "durableClient",
  "orchestrationClient",
]);

const servedTriggers = new Set([
  "httpTrigger",
  "timerTrigger",
  "eventHubTrigger",
  "orchestrationTrigger",
  "activityTrigger",
  "entityTrigger",
]);

/** Triggers this host does not fire, so that a user sees at start why a function never runs. */
function unservedTriggers(functions: Registration[]): { function: string; trigger: string }[] {
  return functions.flatMap((f) =>
    Object.values(f.metadata.bindings)
      .filter(
        (b) =>
          b.direction === "in" && String(b.type).endsWith("Trigger") && !servedTriggers.has(String(b.type)),
      )
      .map((b) => ({ function: f.metadata.name, trigger: String(b.type) })),
  );
}

function usesDurable(functions: Registration[]): boolean {
  return functions.some((f) =>
    Object.values(f.metadata.bindings).some((b) => durableBindingTypes.has(String(b.type))),
  );
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
  await app.core.runHooks("appStart", { hookData: {}, functionAppDirectory: app.appDir });
  app.core.logSink = (level, category, message) => logger.debug({ level, category }, message);
  const invoker = new HostInvoker(app.core, logger);
  for (const registration of app.functions) retryPolicyOf(registration.metadata); // refuses a bad policy now
  for (const name of functionsNeedingMissingKeys(app.functions, keys)) {
    logger.warn(
      { function: name },
      "no key is configured for this function's authLevel: every request gets 401",
    );
  }
  for (const unserved of unservedTriggers(app.functions)) {
    logger.warn(unserved, "the local host does not fire this trigger type; the function will not run");
  }
  const timers = new TimerTriggers(invoker, logger);
  const eventHubs = new EventHubTriggers(invoker, logger, readEventHubOptions(app.eventHubs));
  const onError = (functionName: string, error: unknown) =>
    logger.error({ function: functionName, err: error }, "function invocation failed");

  const httpTriggers = httpTriggerHandler({
    functions: app.functions,
    routePrefix: app.routePrefix,
    keys,
    invoker,
    onError,
  });
  let durable: DurableHost | undefined;
  const handle = async (request: IncomingMessage, response: ServerResponse) => {
    const url = new URL(request.url ?? "/", `http://${request.headers.host ?? loopback}`);
    if (durable && (await durable.handleWebhook(request, response, url))) return;
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
  try {
    // A connection string or, as the real host reads it, the identity-based form (AzureWebJobsStorage__*).
    const storage = hostStorageConnection(options.storageConnectionString);
    if (usesDurable(app.functions)) {
      if (!storage) {
        throw new Error(
          "the app has durable functions, which need storage: set AzureWebJobsStorage " +
            "(e.g. the Azurite connection string), AzureWebJobsStorage__accountName or the storageConnectionString option",
        );
      }
      durable = await startDurableHost({
        invoker,
        taskHubName: app.taskHubName,
        storage,
        keys,
        hostUrl: url,
        logger,
      });
    }
    await eventHubs.start(storage);
    timers.start();
  } catch (error) {
    await eventHubs.stop();
    await durable?.stop();
    await close(server);
    throw error;
  }
  logger.info({ url, functions: app.functions.map((f) => f.metadata.name) }, "local host started");

  return {
    url,
    functions: app.functions.map((f) => f.metadata.name),
    taskHubName: durable ? app.taskHubName : undefined,
    async stop() {
      invoker.stopRetrying();
      await timers.stop();
      await eventHubs.stop();
      await app.core.runHooks("appTerminate", { hookData: {} });
      await close(server);
      await durable?.stop();
      logger.info("local host stopped");
    },
  };
}
