import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  createOptionsPartLength,
  joinCreateOptions,
  splitCreateOptions,
} from "../../lib/translate/createOptions.js";

describe("createOptions splitting", () => {
  it("joins back to the original JSON, with every part within IoT Edge's 512-character limit", () => {
    fc.assert(
      fc.property(fc.jsonValue(), (value) => {
        const json = JSON.stringify(value);
        const parts = splitCreateOptions(json);
        expect(joinCreateOptions(parts)).toBe(json);
        for (const part of Object.values(parts))
          expect(part.length).toBeLessThanOrEqual(createOptionsPartLength);
      }),
      { numRuns: 300 },
    );
  });

  it("never cuts a character in two, even in text of emoji", () => {
    fc.assert(
      fc.property(fc.string({ unit: "grapheme", minLength: 200, maxLength: 2000 }), (text) => {
        const parts = Object.values(splitCreateOptions(JSON.stringify({ Env: [text] })));
        for (const part of parts) expect(part).toBe(Buffer.from(part, "utf8").toString("utf8"));
        expect(parts.join("")).toBe(JSON.stringify({ Env: [text] }));
      }),
      { numRuns: 100 },
    );
  });

  it("names the parts createOptions, createOptions01, createOptions02 in order", () => {
    const parts = splitCreateOptions("x".repeat(1100));
    expect(Object.keys(parts)).toEqual(["createOptions", "createOptions01", "createOptions02"]);
    expect(parts.createOptions02).toBe("x".repeat(1100 - 1024));
  });

  it("keeps short options in one createOptions property", () => {
    expect(splitCreateOptions('{"Tty":true}')).toEqual({ createOptions: '{"Tty":true}' });
  });
});
