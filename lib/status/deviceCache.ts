// The app's view of one hub's IoT Edge devices: filled once from a paged twin query, then kept
// current by notifications. A batch of notifications is put in per-twin order before it is applied,
// so a batch delivered out of order ends where the hub is; replays and duplicates change nothing.
import type { HubClient, TwinDocument } from "../hub/hubClient.js";
import { HubNotFoundError } from "../hub/hubErrors.js";
import type { HubNotification } from "../hub/hubNotifications.js";
import {
  applyNotification,
  deviceStateFromTwins,
  EDGE_AGENT,
  emptyDeviceState,
  type DeviceState,
} from "./deviceState.js";

/** Twins per query page: the largest IoT Hub serves, so 10,000 devices cost 20 of S1's 20 queries/min. */
export const TWIN_QUERY_PAGE_SIZE = 1000;
export const EDGE_DEVICES_QUERY = "SELECT * FROM devices WHERE capabilities.iotEdge = true";
export const EDGE_AGENT_TWINS_QUERY = `SELECT * FROM devices.modules WHERE moduleId = '${EDGE_AGENT}'`;

/** Orders the notifications of one twin (or one device's connection) oldest first; others keep their order. */
function streamKey(notification: HubNotification): string {
  const stream =
    notification.kind === "connectionState" ? "connection" : `twin:${notification.moduleId ?? ""}`;
  return `${notification.deviceId}\u0000${stream}`;
}

function compareWithinStream(a: HubNotification, b: HubNotification): number {
  if (a.kind === "twinChange" && b.kind === "twinChange") return a.version - b.version;
  if (a.kind === "connectionState" && b.kind === "connectionState")
    return a.sequenceNumber < b.sequenceNumber ? -1 : a.sequenceNumber > b.sequenceNumber ? 1 : 0;
  return 0;
}

export function orderForApplying(notifications: readonly HubNotification[]): HubNotification[] {
  const streams = new Map<string, HubNotification[]>();
  for (const notification of notifications) {
    const key = streamKey(notification);
    const stream = streams.get(key);
    if (stream) stream.push(notification);
    else streams.set(key, [notification]);
  }
  return [...streams.values()].flatMap((stream) => stream.sort(compareWithinStream));
}

function isEdgeDevice(twin: Record<string, unknown>): boolean {
  const capabilities = twin["capabilities"];
  return (
    typeof capabilities === "object" &&
    capabilities !== null &&
    (capabilities as Record<string, unknown>)["iotEdge"] === true
  );
}

export class DeviceCache {
  private readonly devices = new Map<string, DeviceState>();

  constructor(states: Iterable<DeviceState> = []) {
    for (const state of states) this.devices.set(state.deviceId, state);
  }

  get size(): number {
    return this.devices.size;
  }

  get(deviceId: string): DeviceState | undefined {
    return this.devices.get(deviceId);
  }

  all(): IterableIterator<DeviceState> {
    return this.devices.values();
  }

  /** Replaces (or adds) a device from freshly read twins; clears its stale mark. */
  put(state: DeviceState): void {
    this.devices.set(state.deviceId, state);
  }

  remove(deviceId: string): void {
    this.devices.delete(deviceId);
  }

  /** Devices in the cache and how many of them are connected. */
  counts(): { total: number; connected: number } {
    let connected = 0;
    for (const state of this.devices.values()) if (state.connected === true) connected += 1;
    return { total: this.devices.size, connected };
  }

  /** Device ids whose state missed a change and should be read again. */
  staleDevices(): string[] {
    return [...this.devices.values()].filter((state) => state.stale).map((state) => state.deviceId);
  }

  /**
   * Applies a batch; returns the ids of devices whose state changed (including created and deleted
   * devices). Notifications for devices the cache does not know create them (an IoT Edge device
   * created after the fill) unless they are about identities of non-edge devices.
   */
  apply(notifications: readonly HubNotification[]): Set<string> {
    const changed = new Set<string>();
    for (const notification of orderForApplying(notifications)) {
      const { deviceId } = notification;
      if (notification.kind === "lifecycle") {
        if (notification.moduleId !== undefined) continue;
        if (!notification.created) {
          if (this.devices.delete(deviceId)) changed.add(deviceId);
        } else if (isEdgeDevice(notification.twin) && !this.devices.has(deviceId)) {
          this.devices.set(deviceId, emptyDeviceState(deviceId));
          changed.add(deviceId);
        }
        continue;
      }
      let state = this.devices.get(deviceId);
      if (!state) {
        state = emptyDeviceState(deviceId);
        this.devices.set(deviceId, state);
      }
      if (applyNotification(state, notification)) changed.add(deviceId);
    }
    return changed;
  }

  /** Fills the cache from the hub: one paged query for edge device twins, one for their $edgeAgent twins. */
  static async fromHub(hub: HubClient): Promise<DeviceCache> {
    const deviceTwins = new Map<string, TwinDocument>();
    for await (const page of hub.queryTwins(EDGE_DEVICES_QUERY, { pageSize: TWIN_QUERY_PAGE_SIZE }))
      for (const twin of page) deviceTwins.set(twin.deviceId, twin);
    const agentTwins = new Map<string, TwinDocument>();
    for await (const page of hub.queryTwins(EDGE_AGENT_TWINS_QUERY, { pageSize: TWIN_QUERY_PAGE_SIZE }))
      for (const twin of page) agentTwins.set(twin.deviceId, twin);
    return new DeviceCache(
      [...deviceTwins.values()].map((twin) => deviceStateFromTwins(twin, agentTwins.get(twin.deviceId))),
    );
  }

  /** Reads one device's twins again (two twin reads), e.g. after a missed change. */
  async refresh(hub: HubClient, deviceId: string): Promise<void> {
    const deviceTwin = await hub.getDeviceTwin(deviceId);
    // A device without a deployment yet has no $edgeAgent twin.
    const agentTwin = await hub.getModuleTwin(deviceId, EDGE_AGENT).catch((error: unknown) => {
      if (error instanceof HubNotFoundError) return undefined;
      throw error;
    });
    const fresh = deviceStateFromTwins(deviceTwin, agentTwin);
    // The connection sequence is not in a twin: keep the one events brought.
    fresh.connectionSequence = this.devices.get(deviceId)?.connectionSequence ?? "";
    this.devices.set(deviceId, fresh);
  }
}
