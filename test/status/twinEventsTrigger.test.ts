// The app's own eventHub trigger (functions/twinEvents.ts) in the local host, reading the
// simulator's built-in endpoint: the first batch fills the hub's device states from the hub, later
// twin changes reach the status table.
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { hubSettingNames, appSettingNames } from "../../lib/app/settings.js";
import { createHubClient } from "../../lib/hub/createHubClient.js";
import type { RunningSimulator } from "../../dev/simulator/simulator.js";
import { StatusStore } from "../../lib/status/statusStore.js";
import { startLocalAzurite, type LocalAzurite } from "../../dev/localAzurite.js";
import { startHostProcess, type HostProcess } from "../../dev/host/hostProcess.js";
import { eventually, startTestSimulator } from "../support/testSimulator.js";

const root = path.resolve(import.meta.dirname, "../..");

describe("twinEvents trigger in the local host", { timeout: 120_000 }, () => {
  let azurite: LocalAzurite;
  let simulator: RunningSimulator;
  let host: HostProcess | undefined;
  let workDir: string;

  beforeAll(async () => {
    azurite = await startLocalAzurite();
    simulator = await startTestSimulator({
      devices: [
        { deviceId: "dev-1", tags: { site: "north" } },
        { deviceId: "dev-2", tags: { site: "north" } },
      ],
    });
    workDir = mkdtempSync(path.join(tmpdir(), "twin-events-"));
    const names = hubSettingNames(simulator.hubName);
    const settingsFile = path.join(workDir, "local.settings.json");
    writeFileSync(
      settingsFile,
      JSON.stringify({
        Values: {
          [appSettingNames.storage]: azurite.connectionString,
          [appSettingNames.hubs]: simulator.hubName,
          [names.connection]: simulator.iotHubConnectionString,
          [names.eventsConnection]: simulator.eventHubConnectionString,
          [names.eventsName]: simulator.hubName,
        },
      }),
    );
    host = await startHostProcess({ settingsFile, appDir: root, entry: "functions/twinEvents.ts" });
  });

  afterAll(async () => {
    await host?.stop();
    await simulator?.stop();
    await azurite?.stop();
    if (workDir) rmSync(workDir, { recursive: true, force: true });
  });

  it("fills the device states once and keeps the stored ones current with twin changes", async () => {
    const store = StatusStore.fromConnectionString(azurite.connectionString);
    const hub = createHubClient(simulator.iotHubConnectionString);
    const stored = () => store.deviceStates(simulator.hubName);
    try {
      // An event makes the trigger fire (and fill the device states from the hub on its first batch).
      await hub.updateDeviceTags("dev-2", { site: "south" });
      const devices = await eventually(stored, (states) => states.get("dev-2")?.tags["site"] === "south", {
        attempts: 300,
        intervalMs: 100,
      });
      expect([...devices.keys()].sort()).toEqual(["dev-1", "dev-2"]);
      expect(simulator.stats.operations["queryTwins"]).toBe(2);
      expect(await store.deviceCounts(simulator.hubName)).toEqual({ total: 2, connected: 2 });

      await hub.updateDeviceTags("dev-1", { site: "east" });
      await eventually(stored, (states) => states.get("dev-1")?.tags["site"] === "east", {
        attempts: 300,
        intervalMs: 100,
      });
      expect(simulator.stats.operations["queryTwins"]).toBe(2);
      expect(host!.output.join("\n")).not.toContain("SharedAccessKey=");
    } finally {
      hub.close();
    }
  });
});
