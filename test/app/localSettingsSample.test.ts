// local.settings.sample.json is what a user copies to local.settings.json: it must pass the app's
// own settings check, carry every setting the app reads, and each must be documented.
import { readFileSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { appSettingNames, hubSettingNames, readAppSettings } from "../../lib/app/settings.js";

const root = path.resolve(import.meta.dirname, "../..");
const sample = JSON.parse(readFileSync(path.join(root, "local.settings.sample.json"), "utf8")) as {
  IsEncrypted: boolean;
  Values: Record<string, string>;
};
const docs = readFileSync(path.join(root, "docs/functions-app.md"), "utf8");
const hubSettings = Object.values(hubSettingNames("my-hub"));

describe("local.settings.sample.json", () => {
  it("passes the app's settings check", () => {
    expect(sample.IsEncrypted).toBe(false);
    const settings = readAppSettings(sample.Values);
    expect(settings.hubs.map((hub) => hub.name)).toEqual(["my-hub"]);
  });

  it("sets every app setting, and every hub setting but the managed-identity host name", () => {
    const hostName = hubSettingNames("my-hub").hostName;
    for (const name of [...Object.values(appSettingNames), ...hubSettings.filter((n) => n !== hostName)])
      expect(Object.keys(sample.Values)).toContain(name);
  });

  it("has every setting documented in docs/functions-app.md", () => {
    for (const name of [
      ...Object.values(appSettingNames),
      ...hubSettings.map((n) => n.replace("HUB_MY_HUB", "HUB_<NAME>")),
    ])
      expect(docs).toContain(`\`${name}\``);
  });
});
