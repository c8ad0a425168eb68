import { describe, expect, it } from "vitest";
import { hubLimits } from "../../../dev/simulator/skuLimits.js";

describe("hub limits per SKU", () => {
  it.each([
    ["F1", 1, 10, 20, 20],
    ["S1", 1, 100, 20, 20],
    ["S1", 4, 100, 80, 80],
    ["S2", 2, 100, 40, 40],
    ["S3", 2, 100, 40, 2000],
  ] as const)(
    "%s x%d: %d deployments, %d configuration operations and %d queries a minute",
    (sku, units, deployments, configurationsPerMinute, queriesPerMinute) => {
      const limits = hubLimits(sku, units);
      expect(limits.maxConfigurations).toBe(deployments);
      expect(limits.maxModulesPerDeployment).toBe(20);
      expect(limits.rates.configurations?.perSecond).toBeCloseTo(configurationsPerMinute / 60);
      expect(limits.rates.queries?.perSecond).toBeCloseTo(queriesPerMinute / 60);
    },
  );

  it("reads and updates twins at the documented rates", () => {
    expect(hubLimits("S1", 3).rates.twinReads?.perSecond).toBe(100);
    expect(hubLimits("S2", 20).rates.twinReads?.perSecond).toBe(200);
    expect(hubLimits("S3", 2).rates.twinReads?.perSecond).toBe(1000);
    expect(hubLimits("S1", 1).rates.twinUpdates?.perSecond).toBe(50);
    expect(hubLimits("S3", 2).rates.twinUpdates?.perSecond).toBe(500);
  });

  it("meters direct methods in 4 KB chunks: 160 KB/s per S1 unit is 40 chunks a second", () => {
    expect(hubLimits("S1", 1).rates.directMethods?.perSecond).toBe(40);
    expect(hubLimits("S1", 1).maxMethodPayloadBytes).toBe(128 * 1024);
  });

  it("switches every limit off when unlimited", () => {
    const limits = hubLimits("unlimited", 1);
    expect(limits.maxConfigurations).toBe(Number.POSITIVE_INFINITY);
    expect(Object.values(limits.rates).every((rate) => rate === undefined)).toBe(true);
  });

  it("refuses impossible unit counts", () => {
    expect(() => hubLimits("S1", 0)).toThrow("units must be a positive integer, got 0");
    expect(() => hubLimits("F1", 2)).toThrow("a free (F1) hub has exactly one unit");
  });
});
