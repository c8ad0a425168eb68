// Function-level retry policies (`retry` in a registration: fixedDelay or exponentialBackoff), as
// the host applies them to timer and Event Hubs triggers: a failed invocation runs again with
// `context.retryContext` telling the attempt, until it succeeds or the retries are spent.
import type { FunctionMetadata } from "./functionsCoreTypes.js";

interface RpcDuration {
  seconds?: number;
}

interface RpcRetryOptions {
  retryStrategy?: string;
  maxRetryCount?: number;
  delayInterval?: RpcDuration;
  minimumInterval?: RpcDuration;
  maximumInterval?: RpcDuration;
}

export interface RetryPolicy {
  /** Retries after the first attempt; -1 retries until the host stops. */
  maxRetryCount: number;
  /** Delay before retry number `retryCount` (1 = first retry). */
  delayMs(retryCount: number): number;
}

const milliseconds = (duration: RpcDuration | undefined) => (duration?.seconds ?? 0) * 1000;

export function retryPolicyOf(metadata: FunctionMetadata): RetryPolicy | undefined {
  const options = metadata.retryOptions as RpcRetryOptions | undefined;
  if (!options?.retryStrategy) return undefined;
  const maxRetryCount = options.maxRetryCount ?? 0;
  if (!Number.isInteger(maxRetryCount) || maxRetryCount < -1) {
    throw new Error(
      `function "${metadata.name}": retry.maxRetryCount must be -1 or a count, got ${maxRetryCount}`,
    );
  }
  if (options.retryStrategy === "fixedDelay") {
    return { maxRetryCount, delayMs: () => milliseconds(options.delayInterval) };
  }
  if (options.retryStrategy === "exponentialBackoff") {
    const minimum = milliseconds(options.minimumInterval);
    const maximum = milliseconds(options.maximumInterval);
    return { maxRetryCount, delayMs: (retryCount) => Math.min(maximum, minimum * 2 ** (retryCount - 1)) };
  }
  throw new Error(
    `function "${metadata.name}": retry.strategy "${options.retryStrategy}" is not fixedDelay or exponentialBackoff`,
  );
}
