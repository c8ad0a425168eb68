// The adapter process: `npm run adapter -- --node-name ... ` (flags or env, see docs/adapter.md).
// Logs are JSON lines (pino) without secrets; SIGTERM drains in-flight pod work with a bound.
import { AdapterConfigError, adapterUsage, readAdapterConfig } from "./config.js";
import { createAdapterLogger } from "./logger.js";
import { startAdapter } from "./startAdapter.js";

const logger = createAdapterLogger(process.env.LOG_LEVEL ?? "info");

async function main(): Promise<void> {
  if (process.argv.slice(2).some((arg) => arg === "--help" || arg === "-h")) {
    process.stdout.write(adapterUsage());
    return;
  }
  let config;
  try {
    config = readAdapterConfig(process.env, process.argv.slice(2));
  } catch (error) {
    if (!(error instanceof AdapterConfigError)) throw error;
    logger.fatal({ problems: error.problems }, error.message);
    process.exit(2);
  }
  logger.level = config.logLevel;
  const adapter = await startAdapter(config, logger);
  let stopping = false;
  const shutdown = (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, "shutting down");
    adapter
      .stop()
      .then(({ drained }) => {
        logger.info({ drained }, "stopped");
        process.exit(0);
      })
      .catch((error: unknown) => {
        logger.error({ err: (error as Error).message }, "shutdown failed");
        process.exit(1);
      });
  };
  process.on("SIGTERM", () => shutdown("SIGTERM"));
  process.on("SIGINT", () => shutdown("SIGINT"));
}

main().catch((error: unknown) => {
  logger.fatal({ err: error instanceof Error ? error.message : String(error) }, "adapter failed to start");
  process.exit(1);
});
