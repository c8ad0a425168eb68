// CLI of the local Functions host:
//   tsx dev/host/main.ts [--app <dir, default .>] [--entry <glob>] [--settings local.settings.json] [--port 7071]
// Keys come from the environment, never from arguments (which `ps` shows):
//   LOCAL_HOST_MASTER_KEY, LOCAL_HOST_FUNCTION_KEYS (comma-separated).
import { parseArgs } from "node:util";
import { pino } from "pino";
import { startLocalHost } from "./localHost.js";
import { startedLinePrefix } from "./startedLine.js";

const usage =
  "usage: main.ts [--app <dir, default .>] [--entry <glob>] [--settings <local.settings.json>] [--port <n>]";

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      app: { type: "string" },
      entry: { type: "string" },
      settings: { type: "string" },
      port: { type: "string" },
      help: { type: "boolean" },
    },
  });
  if (values.help) {
    console.log(usage);
    return;
  }
  const port = values.port === undefined ? 7071 : Number(values.port);
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    throw new Error(`--port must be an integer between 0 and 65535, got "${values.port}"`);
  }
  const functionKeys = (process.env.LOCAL_HOST_FUNCTION_KEYS ?? "")
    .split(",")
    .filter((key) => key.length > 0);
  const logger = pino({ name: "local-host", level: process.env.LOG_LEVEL ?? "info" });
  const host = await startLocalHost({
    appDir: values.app ?? ".",
    entry: values.entry,
    settingsFile: values.settings,
    port,
    keys: { master: process.env.LOCAL_HOST_MASTER_KEY, function: functionKeys },
    logger,
  });
  process.stdout.write(`${startedLinePrefix}${host.url}\n`);
  const shutdown = () => {
    // Stopping waits for running invocations; a stuck one must not keep the process forever.
    setTimeout(() => {
      logger.error("stop took longer than 30 s; exiting");
      process.exit(1);
    }, 30_000).unref();
    host.stop().then(
      () => process.exit(0),
      (error: unknown) => {
        logger.error({ err: error }, "stop failed");
        process.exit(1);
      },
    );
  };
  process.once("SIGINT", shutdown);
  process.once("SIGTERM", shutdown);
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : error);
  process.exit(1);
});
