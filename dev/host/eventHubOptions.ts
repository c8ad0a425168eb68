// The Event Hubs extension's options the local host honours, with the real extension's defaults
// (Microsoft.Azure.WebJobs.Extensions.EventHubs 5.x/6.x on Azure.Messaging.EventHubs): batches of up
// to 100 events, 300 events prefetched per partition (0 turns prefetching off), the greedy load balancing strategy, a load balancing cycle every 30 s, and a
// partition's ownership expiring 2 minutes after its owner last renewed it (so the partitions of an
// instance that died are taken over after up to two minutes; one that stops releases them at once).
// Read from host.json `extensions.eventHubs` and, as the host does, from app settings named
// `AzureFunctionsJobHost__extensions__eventHubs__<option>`, which win.

export interface EventHubOptions {
  maxEventBatchSize: number;
  /** events requested ahead of the function per partition, so that a large batch is ready when asked for */
  prefetchCount: number;
  loadBalancing: {
    strategy: "greedy";
    updateIntervalInMs: number;
    partitionOwnershipExpirationIntervalInMs: number;
  };
}

export const defaultEventHubOptions: EventHubOptions = {
  maxEventBatchSize: 100,
  prefetchCount: 300,
  loadBalancing: {
    strategy: "greedy",
    updateIntervalInMs: 30_000,
    partitionOwnershipExpirationIntervalInMs: 120_000,
  },
};

const overridePrefix = "AzureFunctionsJobHost__extensions__eventHubs__";

/** A .NET TimeSpan as host.json writes it: `[d.]hh:mm:ss[.fff]`. */
export function parseTimeSpan(text: string, what: string): number {
  const match = /^(?:(\d+)\.)?(\d+):([0-5]\d):([0-5]\d(?:\.\d+)?)$/.exec(text.trim());
  if (!match) throw new Error(`${what}: "${text}" is not a TimeSpan ([d.]hh:mm:ss[.fff])`);
  const [, days = "0", hours = "0", minutes = "0", seconds = "0"] = match;
  return Math.round(
    (((Number(days) * 24 + Number(hours)) * 60 + Number(minutes)) * 60 + Number(seconds)) * 1000,
  );
}

function option(
  name: string,
  hostJson: Record<string, unknown>,
  env: NodeJS.ProcessEnv,
): string | number | undefined {
  const setting = Object.entries(env).find(
    ([key]) => key.toLowerCase() === `${overridePrefix}${name}`.toLowerCase(),
  )?.[1];
  if (setting !== undefined) return setting;
  const found = Object.entries(hostJson).find(([key]) => key.toLowerCase() === name.toLowerCase())?.[1];
  return typeof found === "string" || typeof found === "number" ? found : undefined;
}

export function readEventHubOptions(
  hostJsonEventHubs: Record<string, unknown> = {},
  env: NodeJS.ProcessEnv = process.env,
): EventHubOptions {
  const what = "host.json extensions.eventHubs";
  const batch = option("maxEventBatchSize", hostJsonEventHubs, env);
  const prefetch = option("prefetchCount", hostJsonEventHubs, env);
  const update = option("loadBalancingUpdateInterval", hostJsonEventHubs, env);
  const expiry = option("partitionOwnershipExpirationInterval", hostJsonEventHubs, env);
  const maxEventBatchSize = batch === undefined ? defaultEventHubOptions.maxEventBatchSize : Number(batch);
  if (!Number.isInteger(maxEventBatchSize) || maxEventBatchSize < 1)
    throw new Error(`${what}.maxEventBatchSize must be a positive integer, got ${String(batch)}`);
  const prefetchCount = prefetch === undefined ? defaultEventHubOptions.prefetchCount : Number(prefetch);
  if (!Number.isInteger(prefetchCount) || prefetchCount < 0)
    throw new Error(`${what}.prefetchCount must be an integer of at least 0, got ${String(prefetch)}`);
  const defaults = defaultEventHubOptions.loadBalancing;
  const updateIntervalInMs =
    update === undefined
      ? defaults.updateIntervalInMs
      : parseTimeSpan(String(update), `${what}.loadBalancingUpdateInterval`);
  const partitionOwnershipExpirationIntervalInMs =
    expiry === undefined
      ? defaults.partitionOwnershipExpirationIntervalInMs
      : parseTimeSpan(String(expiry), `${what}.partitionOwnershipExpirationInterval`);
  if (updateIntervalInMs <= 0 || partitionOwnershipExpirationIntervalInMs <= updateIntervalInMs)
    throw new Error(
      `${what}: partitionOwnershipExpirationInterval must be longer than loadBalancingUpdateInterval (an owner renews once per cycle)`,
    );
  return {
    maxEventBatchSize,
    prefetchCount,
    loadBalancing: { strategy: "greedy", updateIntervalInMs, partitionOwnershipExpirationIntervalInMs },
  };
}
