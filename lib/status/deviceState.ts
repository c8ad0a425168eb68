// What the app knows of one IoT Edge device: its tags (for target conditions), whether it is
// connected, and what its edgeAgent reports (applied configurations, desired version processed,
// each module's runtime state). Built from the twins a query returns, then moved forward by twin
// change and connection state notifications. A notification never moves a device backwards: twin
// changes are applied only when their twin `version` is newer, connection changes only when their
// `sequenceNumber` is greater (compared as strings, as IoT Hub documents).
import type { TwinChangeNotification, HubNotification } from "../hub/hubNotifications.js";
import type { TwinDocument } from "../hub/hubClient.js";
import type { TwinObject } from "../hub/twinQuery.js";
import type { DeviceModuleState } from "./statusContract.js";

export const EDGE_AGENT = "$edgeAgent";
/** Longest module status description kept (edgeAgent's can carry whole error texts). */
const MAX_TEXT_LENGTH = 512;

export interface EdgeAgentState {
  /** the $edgeAgent module twin's version this state reflects (0: never seen) */
  twinVersion: number;
  /** `properties.desired.$version`: what the hub last gave edgeAgent */
  desiredVersion: number;
  /** `properties.reported.lastDesiredVersion`: what edgeAgent last processed */
  lastDesiredVersion?: number;
  lastDesiredStatus?: { code: number; description?: string };
  /** configuration id → status in the twin's `configurations` section ("Applied", "Targeted") */
  configurations: Record<string, string>;
  /** custom modules by name, as edgeAgent reports them (system modules left out) */
  modules: Record<string, DeviceModuleState>;
}

export interface DeviceState {
  deviceId: string;
  /** the device twin's version this state reflects (0: never seen) */
  twinVersion: number;
  tags: TwinObject;
  /** undefined until the twin or an event says */
  connected?: boolean;
  /** last applied connection event's sequence number ("" when the state came from a twin) */
  connectionSequence: string;
  agent: EdgeAgentState;
  /** a notification skipped a twin version: some change was missed, so the twins should be read again */
  stale: boolean;
}

const RUNTIME_STATUSES: ReadonlySet<string> = new Set([
  "unknown",
  "backoff",
  "running",
  "unhealthy",
  "stopped",
  "failed",
]);

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function objectAt(value: unknown, ...path: string[]): Record<string, unknown> | undefined {
  let current: unknown = value;
  for (const key of path) current = isObject(current) ? current[key] : undefined;
  return isObject(current) ? current : undefined;
}

export function emptyDeviceState(deviceId: string): DeviceState {
  return {
    deviceId,
    twinVersion: 0,
    tags: {},
    connectionSequence: "",
    agent: { twinVersion: 0, desiredVersion: 0, configurations: {}, modules: {} },
    stale: false,
  };
}

/** RFC 7396 merge patch of plain JSON (null deletes); returns the patched target. */
function mergePatch(target: TwinObject, patch: Record<string, unknown>): TwinObject {
  for (const [key, value] of Object.entries(patch)) {
    if (key.startsWith("$")) continue; // $metadata, $version: bookkeeping, not content
    if (value === null) delete target[key];
    else if (isObject(value)) {
      const current = target[key];
      target[key] = mergePatch(isObject(current) ? current : {}, value);
    } else target[key] = value as TwinObject[string];
  }
  return target;
}

/** Merges a reported module entry into what is known of the module. */
function patchModule(
  current: DeviceModuleState | undefined,
  patch: Record<string, unknown>,
): DeviceModuleState {
  const next: DeviceModuleState = current ? { ...current } : { runtimeStatus: "unknown" };
  const status = patch["runtimeStatus"];
  if (typeof status === "string")
    next.runtimeStatus = RUNTIME_STATUSES.has(status)
      ? (status as DeviceModuleState["runtimeStatus"])
      : "unknown";
  for (const key of ["exitCode", "restartCount"] as const) {
    const value = patch[key];
    if (typeof value === "number") next[key] = value;
    else if (value === null) delete next[key];
  }
  for (const key of ["statusDescription", "lastStartTimeUtc", "lastExitTimeUtc"] as const) {
    const value = patch[key];
    // Bounded: a device's row must stay under the table's 64 KiB property limit.
    if (typeof value === "string") next[key] = value.slice(0, MAX_TEXT_LENGTH);
    else if (value === null) delete next[key];
  }
  return next;
}

/** Applies `properties.reported` of $edgeAgent (a whole section or a merge patch) to the agent state. */
function applyReported(agent: EdgeAgentState, reported: Record<string, unknown>): void {
  if ("lastDesiredVersion" in reported) {
    const version = reported["lastDesiredVersion"];
    if (typeof version === "number") agent.lastDesiredVersion = version;
    else delete agent.lastDesiredVersion;
  }
  if ("lastDesiredStatus" in reported) {
    const status = objectAt(reported, "lastDesiredStatus");
    const code = status?.["code"];
    if (typeof code === "number") {
      const description = status?.["description"];
      agent.lastDesiredStatus = {
        code,
        ...(typeof description === "string" && description !== "" && { description }),
      };
    } else delete agent.lastDesiredStatus;
  }
  if (!("modules" in reported)) return;
  const modules = reported["modules"];
  if (modules === null) {
    agent.modules = {};
    return;
  }
  if (!isObject(modules)) return;
  for (const [name, entry] of Object.entries(modules)) {
    if (name.startsWith("$")) continue;
    if (entry === null) delete agent.modules[name];
    else if (isObject(entry)) agent.modules[name] = patchModule(agent.modules[name], entry);
  }
}

function applyConfigurations(agent: EdgeAgentState, section: Record<string, unknown>): void {
  for (const [id, entry] of Object.entries(section)) {
    const status = objectAt(section, id)?.["status"];
    if (entry === null) delete agent.configurations[id];
    else if (typeof status === "string") agent.configurations[id] = status;
  }
}

function desiredVersionOf(twin: Record<string, unknown>): number | undefined {
  const version = objectAt(twin, "properties", "desired")?.["$version"];
  return typeof version === "number" ? version : undefined;
}

/** The agent state a whole $edgeAgent module twin describes (a query result or a replaceTwin body). */
function agentFromTwin(twin: Record<string, unknown>, version: number): EdgeAgentState {
  const agent: EdgeAgentState = {
    twinVersion: version,
    desiredVersion: desiredVersionOf(twin) ?? 0,
    configurations: {},
    modules: {},
  };
  applyReported(agent, objectAt(twin, "properties", "reported") ?? {});
  applyConfigurations(agent, objectAt(twin, "configurations") ?? {});
  return agent;
}

/** A device's state from its device twin and (when it has one yet) its $edgeAgent module twin. */
export function deviceStateFromTwins(deviceTwin: TwinDocument, agentTwin?: TwinDocument): DeviceState {
  const state = emptyDeviceState(deviceTwin.deviceId);
  state.twinVersion = deviceTwin.version ?? 0;
  state.tags = mergePatch({}, deviceTwin.tags ?? {});
  if (deviceTwin.connectionState !== undefined) state.connected = deviceTwin.connectionState === "Connected";
  if (agentTwin) state.agent = agentFromTwin(agentTwin, agentTwin.version ?? 0);
  return state;
}

/** Whether the twin change is newer than what the state has; marks the state stale on a gap. */
function acceptVersion(state: DeviceState, known: number, notification: TwinChangeNotification): boolean {
  if (notification.version <= known) return false;
  if (notification.opType === "updateTwin" && known > 0 && notification.version > known + 1)
    state.stale = true;
  return true;
}

function applyDeviceTwinChange(state: DeviceState, notification: TwinChangeNotification): boolean {
  if (!acceptVersion(state, state.twinVersion, notification)) return false;
  state.twinVersion = notification.version;
  const tags = notification.body["tags"];
  if (notification.opType === "replaceTwin") state.tags = isObject(tags) ? mergePatch({}, tags) : {};
  else if (isObject(tags)) mergePatch(state.tags, tags);
  return true;
}

function applyAgentTwinChange(state: DeviceState, notification: TwinChangeNotification): boolean {
  if (!acceptVersion(state, state.agent.twinVersion, notification)) return false;
  const body = notification.body;
  if (notification.opType === "replaceTwin") {
    state.agent = agentFromTwin(body, notification.version);
    return true;
  }
  const agent = state.agent;
  agent.twinVersion = notification.version;
  agent.desiredVersion = desiredVersionOf(body) ?? agent.desiredVersion;
  const reported = objectAt(body, "properties", "reported");
  if (reported) applyReported(agent, reported);
  const configurations = body["configurations"];
  if (configurations === null) agent.configurations = {};
  else if (isObject(configurations)) applyConfigurations(agent, configurations);
  return true;
}

/**
 * Moves the device forward by one notification. Returns whether anything the status model reads
 * may have changed: false for duplicates, older events, other modules' twins and lifecycle events
 * (the cache handles identities).
 */
export function applyNotification(state: DeviceState, notification: HubNotification): boolean {
  switch (notification.kind) {
    case "connectionState": {
      const sequence = notification.sequenceNumber.toLowerCase();
      if (sequence <= state.connectionSequence) return false;
      state.connectionSequence = sequence;
      const changed = state.connected !== notification.connected;
      state.connected = notification.connected;
      return changed;
    }
    case "twinChange":
      if (notification.moduleId === undefined) return applyDeviceTwinChange(state, notification);
      if (notification.moduleId === EDGE_AGENT) return applyAgentTwinChange(state, notification);
      return false;
    case "lifecycle":
      return false;
  }
}

/**
 * A device's state from what a partition knew and what the hub's twins said when they were read
 * again (the reconcile's repair): per twin, the newer version wins; the connection is the twins'
 * (a twin carries no sequence number to compare, so the events' one is kept for the next event).
 */
export function joinStates(known: DeviceState, reread: DeviceState): DeviceState {
  const joined = structuredClone(known);
  if (reread.twinVersion > known.twinVersion) {
    joined.twinVersion = reread.twinVersion;
    joined.tags = structuredClone(reread.tags);
  }
  if (reread.agent.twinVersion > known.agent.twinVersion) joined.agent = structuredClone(reread.agent);
  if (reread.connected !== undefined) joined.connected = reread.connected;
  joined.stale =
    known.stale &&
    (known.twinVersion > reread.twinVersion || known.agent.twinVersion > reread.agent.twinVersion);
  return joined;
}
