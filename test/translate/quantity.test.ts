import { describe, expect, it } from "vitest";
import { parseQuantity } from "../../lib/translate/quantity.js";

describe("Kubernetes quantities", () => {
  it.each([
    ["128Mi", 134217728],
    ["1.5Gi", 1610612736],
    ["1G", 1e9],
    ["250m", 0.25],
    ["2", 2],
    ["0.5", 0.5],
    ["1e3", 1000],
    ["512Ki", 524288],
  ])("reads %s as %d", (text, value) => {
    expect(parseQuantity(text)).toBeCloseTo(value, 9);
  });

  it.each(["lots", "1.5 Gi", "Mi", "", "1GB"])("refuses %j", (text) => {
    expect(parseQuantity(text)).toBeUndefined();
  });
});
