// Device state from literal IoT Hub events (as the built-in endpoint delivers them): what each event
// changes, and that duplicates, reordering and replays never move a device backwards.
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import type { HubNotification, ReceivedEventLike } from "../../lib/hub/hubNotifications.js";
import { DeviceCache } from "../../lib/status/deviceCache.js";
import { deviceStateFromTwins, type DeviceState } from "../../lib/status/deviceState.js";
import { readHubEvents } from "../../lib/status/readHubEvents.js";

const fixtures = JSON.parse(
  readFileSync(new URL("./fixtures/hubEvents.json", import.meta.url), "utf8"),
) as Record<string, ReceivedEventLike>;

function event(name: string): ReceivedEventLike {
  const fixture = fixtures[name];
  if (!fixture) throw new Error(`no fixture ${name}`);
  return structuredClone(fixture);
}

function notifications(...names: string[]): HubNotification[] {
  const warnings: string[] = [];
  const read = readHubEvents(names.map(event), (message) => warnings.push(message));
  expect(warnings).toEqual([]);
  return read.notifications;
}

/** dev-3 as a query found it: tagged for the old site, connected, no deployment yet. */
function knownDevice(): DeviceState {
  return deviceStateFromTwins(
    {
      deviceId: "dev-3",
      etag: "AAAAAAAAAAY=",
      version: 6,
      tags: { environment: "dev", site: "north" },
      properties: { desired: {}, reported: {} },
      connectionState: "Connected",
      capabilities: { iotEdge: true },
    },
    {
      deviceId: "dev-3",
      moduleId: "$edgeAgent",
      etag: "AAAAAAAAABQ=",
      version: 20,
      properties: {
        desired: { $version: 7 },
        reported: { lastDesiredVersion: 7, lastDesiredStatus: { code: 200 }, $version: 14 },
      },
      configurations: { "c-old-1111": { status: "Applied" } },
    },
  );
}

function cacheWith(state: DeviceState): DeviceCache {
  return new DeviceCache([state]);
}

describe("reading hub events", () => {
  it("parses twin change and connection events and passes telemetry over", () => {
    const read = readHubEvents(
      ["tagsRetarget", "agentReportedBackoff", "disconnected", "telemetry"].map(event),
      () => {},
    );
    expect(read.ignored).toBe(1);
    expect(read.malformed).toBe(0);
    expect(read.notifications.map((n) => [n.kind, n.deviceId, n.moduleId])).toEqual([
      ["twinChange", "dev-3", undefined],
      ["twinChange", "dev-3", "$edgeAgent"],
      ["connectionState", "dev-3", undefined],
    ]);
  });

  it("skips a malformed event with a warning naming the device and the field, and keeps the rest of the batch", () => {
    const warnings: string[] = [];
    const read = readHubEvents([event("twinChangeWithoutVersion"), event("disconnected")], (message) =>
      warnings.push(message),
    );
    expect(read.notifications).toHaveLength(1);
    expect(read.malformed).toBe(1);
    expect(warnings).toEqual([
      "skipped malformed hub event 0 from device dev-3: body.version: missing or not an integer",
    ]);
  });

  it("skips an event whose body is not JSON without showing the body", () => {
    const warnings: string[] = [];
    const broken = { ...event("disconnected"), body: Buffer.from("SharedAccessKey=c2VjcmV0{") };
    const read = readHubEvents([broken], (message) => warnings.push(message));
    expect(read.malformed).toBe(1);
    expect(warnings.join("\n")).not.toContain("SharedAccessKey");
    expect(warnings[0]).toContain("body: not valid UTF-8 JSON");
  });
});

describe("device state from events", () => {
  it("a device twin change merges tags (null removes a tag) and moves the twin version", () => {
    const cache = cacheWith(knownDevice());
    expect([...cache.apply(notifications("tagsRetarget"))]).toEqual(["dev-3"]);
    const state = cache.get("dev-3")!;
    expect(state.tags).toEqual({ environment: "prod" });
    expect(state.twinVersion).toBe(7);
  });

  it("an $edgeAgent change records the new desired version and the applied configurations", () => {
    const cache = cacheWith(knownDevice());
    cache.apply(notifications("agentDesired"));
    const agent = cache.get("dev-3")!.agent;
    expect(agent.desiredVersion).toBe(8);
    expect(agent.configurations).toEqual({ "c-temp-7f3a": "Applied" });
    expect(agent.lastDesiredVersion).toBe(7);
  });

  it("an $edgeAgent report records each module's runtime status, exit code, restarts and times", () => {
    const cache = cacheWith(knownDevice());
    cache.apply(notifications("agentDesired", "agentReportedBackoff"));
    const agent = cache.get("dev-3")!.agent;
    expect(agent.lastDesiredVersion).toBe(8);
    expect(agent.lastDesiredStatus).toEqual({ code: 200 });
    expect(agent.modules["tempSensor"]).toEqual({
      runtimeStatus: "backoff",
      statusDescription: "module exited with code 139, restarting in 2s",
      exitCode: 139,
      restartCount: 3,
      lastStartTimeUtc: "2026-11-25T10:00:05.0000000Z",
      lastExitTimeUtc: "2026-11-25T10:00:06.0000000Z",
    });
    cache.apply(notifications("agentReportedRunning"));
    expect(cache.get("dev-3")!.agent.modules["tempSensor"]).toMatchObject({
      runtimeStatus: "running",
      restartCount: 4,
      exitCode: 139, // edgeAgent keeps the last exit's code across a restart
    });
  });

  it("records a refused desired state with its code and description", () => {
    const cache = cacheWith(knownDevice());
    cache.apply(notifications("agentDesired", "agentReportedInvalidDesired"));
    expect(cache.get("dev-3")!.agent.lastDesiredStatus).toEqual({
      code: 400,
      description: "Desired properties are invalid: schemaVersion is missing",
    });
  });

  it("keeps at most 512 characters of a module's status description", () => {
    const cache = cacheWith(knownDevice());
    const [report] = notifications("agentReportedBackoff");
    if (report?.kind !== "twinChange") throw new Error("fixture is a twin change");
    report.version = 21;
    const modules = (
      report.body["properties"] as { reported: { modules: Record<string, Record<string, unknown>> } }
    ).reported.modules;
    modules["tempSensor"]!["statusDescription"] = "x".repeat(5_000);
    cache.apply([report]);
    expect(cache.get("dev-3")!.agent.modules["tempSensor"]!.statusDescription).toHaveLength(512);
  });

  it("ignores twin changes of other modules", () => {
    const cache = cacheWith(knownDevice());
    expect(cache.apply(notifications("otherModuleTwin")).size).toBe(0);
  });
});

describe("version guards", () => {
  it("a duplicate twin change changes nothing the second time", () => {
    const cache = cacheWith(knownDevice());
    cache.apply(notifications("agentDesired", "agentReportedBackoff"));
    const before = structuredClone(cache.get("dev-3"));
    expect(cache.apply(notifications("agentReportedBackoff")).size).toBe(0);
    expect(cache.get("dev-3")).toEqual(before);
  });

  it("an older report arriving after a newer one does not move the module back", () => {
    const cache = cacheWith(knownDevice());
    cache.apply(notifications("agentDesired", "agentReportedBackoff", "agentReportedRunning"));
    cache.apply(notifications("agentReportedBackoff"));
    expect(cache.get("dev-3")!.agent.modules["tempSensor"]!.runtimeStatus).toBe("running");
  });

  it("a batch delivered out of order ends where the same batch in order ends", () => {
    const inOrder = cacheWith(knownDevice());
    inOrder.apply(
      notifications(
        "connected",
        "agentDesired",
        "agentReportedBackoff",
        "agentReportedRunning",
        "disconnected",
      ),
    );
    const reversed = cacheWith(knownDevice());
    reversed.apply(
      notifications(
        "disconnected",
        "agentReportedRunning",
        "agentReportedBackoff",
        "agentDesired",
        "connected",
      ),
    );
    expect(reversed.get("dev-3")).toEqual(inOrder.get("dev-3"));
    expect(reversed.get("dev-3")!.connected).toBe(false);
    expect(reversed.get("dev-3")!.stale).toBe(false);
  });

  it("replaying a whole batch after it was applied changes nothing", () => {
    const batch = ["agentDesired", "agentReportedBackoff", "connected", "disconnected", "tagsRetarget"];
    const cache = cacheWith(knownDevice());
    cache.apply(notifications(...batch));
    const after = structuredClone(cache.get("dev-3"));
    expect(cache.apply(notifications(...batch)).size).toBe(0);
    expect(cache.get("dev-3")).toEqual(after);
  });

  it("a connection event with a lower sequence number than the last one is ignored", () => {
    const cache = cacheWith(knownDevice());
    cache.apply(notifications("disconnected"));
    expect(cache.apply(notifications("connected")).size).toBe(0);
    expect(cache.get("dev-3")!.connected).toBe(false);
  });

  it("events older than the twins the cache was filled from are ignored", () => {
    const cache = cacheWith(knownDevice());
    const old = notifications("agentReportedBackoff")[0]!;
    expect(old.kind).toBe("twinChange");
    if (old.kind === "twinChange") old.version = 20;
    expect(cache.apply([old]).size).toBe(0);
  });

  it("a skipped twin version marks the device stale, to be read again", () => {
    const cache = cacheWith(knownDevice());
    cache.apply(notifications("agentReportedBackoff")); // version 22 after 20: 21 was missed
    expect(cache.staleDevices()).toEqual(["dev-3"]);
  });
});

describe("device identities", () => {
  it("a deleted device leaves the cache and a new IoT Edge device joins it", () => {
    const cache = cacheWith(knownDevice());
    const deleted: HubNotification = {
      kind: "lifecycle",
      hubName: "contoso-hub",
      deviceId: "dev-3",
      operationTimestamp: "2026-11-25T10:02:00Z",
      opType: "deleteDeviceIdentity",
      created: false,
      twin: {},
    };
    const created: HubNotification = {
      ...deleted,
      deviceId: "dev-9",
      opType: "createDeviceIdentity",
      created: true,
      twin: { deviceId: "dev-9", capabilities: { iotEdge: true } },
    };
    const leaf = {
      ...created,
      deviceId: "sensor-1",
      twin: { deviceId: "sensor-1", capabilities: { iotEdge: false } },
    };
    expect([...cache.apply([deleted, created, leaf])].sort()).toEqual(["dev-3", "dev-9"]);
    expect(cache.get("dev-3")).toBeUndefined();
    expect(cache.get("dev-9")).toBeDefined();
    expect(cache.get("sensor-1")).toBeUndefined();
  });
});
