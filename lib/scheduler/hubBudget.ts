// The hub's budget for configuration operations, as a token bucket the scheduler spends: IoT Hub
// allows 20 configuration operations (create, update, list, delete) a minute per unit on every tier,
// and holds at most 100 IoT Edge deployments (10 on the free tier). See shared/HUB-FACTS.md.
/** IoT Hub tiers (F1 free, S1-S3 standard); the tier sets the deployment limit and query budget. */
export const hubSkus = ["F1", "S1", "S2", "S3"] as const;
export type HubSku = (typeof hubSkus)[number];

export interface HubBudget {
  /** Sustained configuration operations per minute. */
  perMinute: number;
  /** Operations that may go at once after a quiet spell. */
  burst: number;
  /** Deployments the hub holds at most. */
  deploymentLimit: number;
}

export function hubBudget(sku: HubSku, units: number): HubBudget {
  if (!Number.isInteger(units) || units < 1)
    throw new RangeError(`units must be a whole number ≥ 1, got ${units}`);
  const perMinute = 20 * units;
  return { perMinute, burst: perMinute, deploymentLimit: sku === "F1" ? 10 : 100 };
}

/** Tokens at a moment; JSON-friendly because it lives in the entity state. */
export interface TokenBucket {
  tokens: number;
  atMs: number;
}

export function refill(bucket: TokenBucket, budget: HubBudget, nowMs: number): void {
  const earned = ((nowMs - bucket.atMs) / 60_000) * budget.perMinute;
  bucket.tokens = Math.min(budget.burst, bucket.tokens + Math.max(0, earned));
  bucket.atMs = Math.max(bucket.atMs, nowMs);
}

/** When the bucket (refilled up to now) holds one whole token. */
export function nextTokenAtMs(bucket: TokenBucket, budget: HubBudget): number {
  if (bucket.tokens >= 1) return bucket.atMs;
  return bucket.atMs + Math.ceil(((1 - bucket.tokens) / budget.perMinute) * 60_000);
}
