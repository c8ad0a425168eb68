// JSON over several table properties and entities: what the status table's rows are made of.
import { describe, expect, it } from "vitest";
import {
  entitySizedParts,
  fromJsonProperties,
  jsonProperties,
  MAX_ENTITY_CHARS,
  MAX_PROPERTY_CHARS,
} from "../../lib/storage/chunkedJson.js";

describe("JSON in table entities", () => {
  it("splits a value over json0, json1, ... of at most 30,000 characters each and joins it back", () => {
    const value = {
      devices: Array.from({ length: 400 }, (_, i) => ({ deviceId: `edge-${i}`, note: "x".repeat(200) })),
    };
    const properties = jsonProperties(value);
    expect(Object.keys(properties)).toEqual(["json0", "json1", "json2", "json3"]); // about 94,000 characters
    for (const text of Object.values(properties)) expect(text.length).toBeLessThanOrEqual(MAX_PROPERTY_CHARS);
    expect(fromJsonProperties({ partitionKey: "p", rowKey: "r", ...properties })).toEqual(value);
  });

  it("refuses a value larger than one entity holds", () => {
    expect(() => jsonProperties("x".repeat(MAX_ENTITY_CHARS))).toThrow(/does not fit one table entity/);
  });

  it("splits a long list into parts that each fit one entity, in order", () => {
    const items = Array.from({ length: 3_000 }, (_, i) => ({ id: i, padding: "y".repeat(400) }));
    const parts = entitySizedParts(items);
    expect(parts.length).toBeGreaterThan(1);
    for (const part of parts) expect(JSON.stringify(part).length).toBeLessThanOrEqual(MAX_ENTITY_CHARS);
    expect(parts.flat()).toEqual(items);
    expect(entitySizedParts([])).toEqual([[]]);
  });
});
