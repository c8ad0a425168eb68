import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startHostProcess } from "../../../dev/host/hostProcess.js";

describe("local host startup and settings", () => {
  let workDir: string;
  beforeAll(() => {
    workDir = mkdtempSync(path.join(tmpdir(), "local-host-settings-"));
  });
  afterAll(() => {
    rmSync(workDir, { recursive: true, force: true });
  });

  function settingsFile(name: string, content: unknown): string {
    const file = path.join(workDir, name);
    writeFileSync(file, JSON.stringify(content));
    return file;
  }

  it("puts the Values of local.settings.json into the app's environment, an existing variable winning", async () => {
    const file = settingsFile("local.settings.json", {
      Values: { FIXTURE_GREETING: "from the file", FIXTURE_OVERRIDDEN: "from the file" },
    });
    const host = await startHostProcess({
      settingsFile: file,
      entry: "functions/greetings.js",
      env: { FIXTURE_OVERRIDDEN: "from the environment" },
    });
    try {
      const greeting = await fetch(`${host.url}/api/settings/FIXTURE_GREETING`);
      expect(await greeting.json()).toEqual({ FIXTURE_GREETING: "from the file" });
      const overridden = await fetch(`${host.url}/api/settings/FIXTURE_OVERRIDDEN`);
      expect(await overridden.json()).toEqual({ FIXTURE_OVERRIDDEN: "from the environment" });
      // Started without keys: the key-protected functions are named, so their 401s are no surprise.
      const warning = await host.waitForLine('"function":"echo","msg":"no key is configured');
      expect(warning).toContain("every request gets 401");
      await host.waitForLine('"function":"admin-only","msg":"no key is configured');
    } finally {
      await host.stop();
    }
  });

  it("refuses a settings file whose Values are not strings, naming the field", async () => {
    const file = settingsFile("numbers.settings.json", { Values: { FIXTURE_PORT: 8080 } });
    await expect(startHostProcess({ settingsFile: file, entry: "functions/greetings.js" })).rejects.toThrow(
      /field "Values\.FIXTURE_PORT": Invalid input: expected string/,
    );
  });

  it("refuses to start an app with durable functions when no storage is configured", async () => {
    const env = {
      AzureWebJobsStorage: "",
      FIXTURE_TICK_SCHEDULE: "0 0 0 1 1 *",
      FIXTURE_TICKS_FILE: "/dev/null",
    };
    await expect(startHostProcess({ env })).rejects.toThrow(
      /durable functions, which need storage: set AzureWebJobsStorage/,
    );
  });

  it("refuses an entry glob that matches no file, naming the pattern", async () => {
    await expect(startHostProcess({ entry: "dist/nothing/*.js" })).rejects.toThrow(
      /no entry file matches "dist\/nothing\/\*\.js"/,
    );
  });
});
