// IoT Hub's quotas and throttles per SKU and unit count, from Microsoft's "IoT Hub quotas and throttling"
// page (numbers collected in shared/HUB-FACTS.md). `unlimited` switches every limit off for tests that are
// not about limits.

export type Sku = "F1" | "S1" | "S2" | "S3" | "unlimited";
export const SKUS: readonly Sku[] = ["F1", "S1", "S2", "S3", "unlimited"];

/** Operation classes, each with its own token bucket. */
export type OperationClass =
  "configurations" | "queries" | "twinReads" | "twinUpdates" | "identity" | "directMethods";
export const OPERATION_CLASSES: readonly OperationClass[] = [
  "configurations",
  "queries",
  "twinReads",
  "twinUpdates",
  "identity",
  "directMethods",
];

export interface Rate {
  /** Sustained rate in tokens per second. */
  perSecond: number;
  /** Bucket size: how many tokens a burst may take at once. */
  burst: number;
}

export interface HubLimits {
  maxConfigurations: number;
  maxModulesPerDeployment: number;
  /** Direct method request and response payloads, bytes. */
  maxMethodPayloadBytes: number;
  /** Direct methods are metered in 4 KB chunks: one token per started chunk. */
  rates: Record<OperationClass, Rate | undefined>;
}

const perMinute = (count: number): Rate => ({ perSecond: count / 60, burst: Math.max(1, Math.floor(count)) });
const perSecond = (count: number): Rate => ({ perSecond: count, burst: Math.max(1, Math.floor(count)) });

/** Limits of a hub with the given SKU and number of units. */
export function hubLimits(sku: Sku, units: number): HubLimits {
  if (!Number.isInteger(units) || units < 1)
    throw new RangeError(`units must be a positive integer, got ${units}`);
  if (sku === "unlimited") {
    return {
      maxConfigurations: Number.POSITIVE_INFINITY,
      maxModulesPerDeployment: Number.POSITIVE_INFINITY,
      maxMethodPayloadBytes: 128 * 1024,
      rates: {
        configurations: undefined,
        queries: undefined,
        twinReads: undefined,
        twinUpdates: undefined,
        identity: undefined,
        directMethods: undefined,
      },
    };
  }
  if (sku === "F1" && units !== 1) throw new RangeError("a free (F1) hub has exactly one unit");
  const chunksPerSecond = (kilobytesPerSecond: number) => perSecond((kilobytesPerSecond / 4) * units);
  const twinReads = {
    F1: perSecond(10),
    S1: perSecond(100),
    S2: perSecond(Math.max(100, 10 * units)),
    S3: perSecond(500 * units),
  }[sku];
  const twinUpdates = {
    F1: perSecond(10),
    S1: perSecond(50),
    S2: perSecond(50 * units),
    S3: perSecond(250 * units),
  }[sku];
  return {
    maxConfigurations: sku === "F1" ? 10 : 100,
    maxModulesPerDeployment: 20,
    maxMethodPayloadBytes: 128 * 1024,
    rates: {
      configurations: perMinute(20 * units),
      queries: perMinute(sku === "S3" ? 1_000 * units : 20 * units),
      twinReads,
      twinUpdates,
      identity: perMinute(sku === "S3" ? 5_000 * units : 100 * units),
      directMethods: chunksPerSecond(sku === "S3" ? 24_000 : sku === "S2" ? 480 : 160),
    },
  };
}
