// Throttling the way IoT Hub documents it: a token bucket per operation class; a short burst over the
// rate is queued and answered late (traffic shaping), and a request that would wait longer than the
// shaping window is refused with 429 ThrottlingException and a Retry-After header. Tests can also force
// the next n requests to be throttled, or every request to be refused (429 or 503) until told otherwise.
import { HubRestError } from "./restErrors.js";
import { OPERATION_CLASSES, type OperationClass, type Rate } from "./skuLimits.js";

class TokenBucket {
  private tokens: number;
  private updatedAt: number;

  constructor(
    private readonly rate: Rate,
    now: number,
  ) {
    this.tokens = rate.burst;
    this.updatedAt = now;
  }

  /** Takes `cost` tokens, possibly going into debt; returns how long the caller must wait, or undefined
   *  (nothing taken) when that wait would exceed maxDelayMs; then `retryAfterMs` says when to come back. */
  take(cost: number, now: number, maxDelayMs: number): { delayMs: number } | { retryAfterMs: number } {
    this.tokens = Math.min(
      this.rate.burst,
      this.tokens + ((now - this.updatedAt) / 1000) * this.rate.perSecond,
    );
    this.updatedAt = now;
    const delayMs = this.tokens >= cost ? 0 : ((cost - this.tokens) / this.rate.perSecond) * 1000;
    if (delayMs > maxDelayMs) return { retryAfterMs: delayMs - maxDelayMs };
    this.tokens -= cost;
    return { delayMs };
  }
}

export interface ThrottleStats {
  /** Requests admitted per class (answered at once or late). */
  admitted: Record<OperationClass, number>;
  /** Requests queued by traffic shaping and answered late. */
  shaped: Record<OperationClass, number>;
  /** Requests refused with 429. */
  throttled: Record<OperationClass, number>;
}

const zeroes = () =>
  Object.fromEntries(OPERATION_CLASSES.map((c) => [c, 0])) as Record<OperationClass, number>;

/** An outage: every request answered with this status (429 with Retry-After, or 503) until it ends. */
export interface HubOutage {
  status: 429 | 503;
  retryAfterSeconds?: number;
}

export class TrafficShaper {
  private readonly buckets = new Map<OperationClass, TokenBucket>();
  private forcedThrottles = 0;
  private forcedRetryAfterSeconds = 1;
  private currentOutage: HubOutage | undefined;
  readonly stats: ThrottleStats = { admitted: zeroes(), shaped: zeroes(), throttled: zeroes() };

  constructor(
    rates: Record<OperationClass, Rate | undefined>,
    private readonly maxQueueDelayMs: number,
    private readonly now: () => number,
  ) {
    for (const operation of OPERATION_CLASSES) {
      const rate = rates[operation];
      if (rate) this.buckets.set(operation, new TokenBucket(rate, now()));
    }
  }

  /** The next `count` requests, whatever their class, get 429 with Retry-After `retryAfterSeconds`. */
  throttleNext(count: number, retryAfterSeconds = 1): void {
    this.forcedThrottles = count;
    this.forcedRetryAfterSeconds = retryAfterSeconds;
  }

  /** Every request from now on is refused as `outage` says; undefined ends it. */
  outage(outage: HubOutage | undefined): void {
    this.currentOutage = outage;
  }

  /** Resolves when the request may be answered; throws a 429 (or 503) HubRestError when it is refused. */
  async admit(operation: OperationClass, cost = 1): Promise<void> {
    const outage = this.currentOutage;
    if (outage?.status === 429) throw this.refuse(operation, outage.retryAfterSeconds ?? 1);
    if (outage?.status === 503)
      throw new HubRestError(503, "ServiceUnavailable", "the IoT hub is unavailable (simulated outage)");
    if (this.forcedThrottles > 0) {
      this.forcedThrottles -= 1;
      throw this.refuse(operation, this.forcedRetryAfterSeconds);
    }
    const bucket = this.buckets.get(operation);
    const decision = bucket ? bucket.take(cost, this.now(), this.maxQueueDelayMs) : { delayMs: 0 };
    if ("retryAfterMs" in decision)
      throw this.refuse(operation, Math.max(1, Math.ceil(decision.retryAfterMs / 1000)));
    this.stats.admitted[operation] += 1;
    if (decision.delayMs > 0) {
      this.stats.shaped[operation] += 1;
      await new Promise((resolve) => setTimeout(resolve, decision.delayMs));
    }
  }

  private refuse(operation: OperationClass, retryAfterSeconds: number): HubRestError {
    this.stats.throttled[operation] += 1;
    return new HubRestError(
      429,
      "ThrottlingException",
      `Throttling limit exceeded for ${operation} operations; retry after ${retryAfterSeconds} s`,
      { "Retry-After": String(retryAfterSeconds) },
    );
  }
}
