// What the status pipeline's tests share: Azurite for the status table beside a simulated hub whose
// devices carry a site tag, a managed configuration for that site, and connection-state events.
import { afterAll, beforeAll } from "vitest";
import { startLocalAzurite, type LocalAzurite } from "../../../dev/localAzurite.js";
import type { RunningSimulator } from "../../../dev/simulator/simulator.js";
import { createHubClient } from "../../../lib/hub/createHubClient.js";
import type { HubClient } from "../../../lib/hub/hubClient.js";
import type { ReceivedEventLike } from "../../../lib/hub/hubNotifications.js";
import type { ManagedConfiguration } from "../../../lib/scheduler/schedulerContract.js";
import { startTestSimulator } from "../../support/testSimulator.js";

export interface StatusStack {
  azurite: LocalAzurite;
  simulator: RunningSimulator;
  hub: HubClient;
}

/**
 * Starts Azurite and a hub with these devices, all tagged `site: north`, before the file's tests
 * and stops them after. The fields are set once the file's first `beforeAll` ran: read them in
 * hooks and tests, not while the file is collected.
 */
export function useStatusStack(deviceIds: readonly string[]): StatusStack {
  const stack = {} as StatusStack;
  beforeAll(async () => {
    [stack.azurite, stack.simulator] = await Promise.all([
      startLocalAzurite(),
      startTestSimulator({ devices: deviceIds.map((deviceId) => ({ deviceId, tags: { site: "north" } })) }),
    ]);
    stack.hub = createHubClient(stack.simulator.iotHubConnectionString);
  });
  afterAll(async () => {
    stack.hub?.close();
    await stack.simulator?.stop();
    await stack.azurite?.stop();
  });
  return stack;
}

/** A configuration on the hub that runs one module on the `site: north` devices for one pod. */
export function northConfiguration(id: string, module: string): ManagedConfiguration {
  return {
    id,
    kind: "base",
    targetCondition: "tags.site = 'north'",
    priority: 10,
    modules: { [module]: module },
    images: { [module]: `example/${module}:1` },
    pods: [`default/${module}/uid-1`],
    state: { phase: "OnHub" },
  };
}

/** The hub's device connection-state event; a later sequence number is a later event. */
export function connectionEvent(
  hub: string,
  deviceId: string,
  connected: boolean,
  sequence: number,
): ReceivedEventLike {
  return {
    body: { sequenceNumber: String(sequence).padStart(64, "0") },
    properties: {
      "iothub-message-schema": "deviceConnectionStateNotification",
      hubName: hub,
      deviceId,
      opType: connected ? "deviceConnected" : "deviceDisconnected",
      operationTimestamp: new Date().toISOString(),
    },
  };
}
