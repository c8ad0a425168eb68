// Turns a batch of events from the hub's built-in endpoint into notifications. Telemetry (which
// shares the endpoint) is passed over; a malformed notification is reported and skipped so that one
// bad event never fails the batch. Reports name the device, the event's position and the field at
// fault, never the event's content.
import {
  HubNotificationFormatError,
  parseHubNotification,
  type HubNotification,
  type ReceivedEventLike,
} from "../hub/hubNotifications.js";

export interface ReadHubEvents {
  notifications: HubNotification[];
  /** events that were not notifications (telemetry) */
  ignored: number;
  /** malformed notifications, skipped */
  malformed: number;
}

export function readHubEvents(
  events: readonly ReceivedEventLike[],
  warn: (message: string) => void,
): ReadHubEvents {
  const result: ReadHubEvents = { notifications: [], ignored: 0, malformed: 0 };
  events.forEach((event, index) => {
    try {
      const notification = parseHubNotification(event);
      if (notification) result.notifications.push(notification);
      else result.ignored += 1;
    } catch (error) {
      result.malformed += 1;
      // Only the parser's own messages are shown: they name a field, never a value.
      const reason = error instanceof HubNotificationFormatError ? error.message : "unreadable event";
      const deviceId = event.systemProperties?.["iothub-connection-device-id"];
      const device = typeof deviceId === "string" ? ` from device ${deviceId}` : "";
      warn(`skipped malformed hub event ${index}${device}: ${reason}`);
    }
  });
  return result;
}

/**
 * The events of an eventHub trigger with cardinality "many": the Functions host passes the bodies
 * and, in its trigger metadata, arrays of the events' application and system properties.
 */
export function eventsFromTrigger(bodies: readonly unknown[], triggerMetadata: unknown): ReceivedEventLike[] {
  const metadata = (
    typeof triggerMetadata === "object" && triggerMetadata !== null ? triggerMetadata : {}
  ) as {
    propertiesArray?: unknown;
    systemPropertiesArray?: unknown;
  };
  const at = (list: unknown, index: number): Record<string, unknown> | undefined => {
    const value = Array.isArray(list) ? (list[index] as unknown) : undefined;
    return typeof value === "object" && value !== null ? (value as Record<string, unknown>) : undefined;
  };
  return bodies.map((body, index) => {
    const properties = at(metadata.propertiesArray, index);
    const systemProperties = at(metadata.systemPropertiesArray, index);
    return { body, ...(properties && { properties }), ...(systemProperties && { systemProperties }) };
  });
}

/** The Event Hubs partition a trigger batch came from (the host passes `partitionContext`). */
export function partitionIdFromTrigger(triggerMetadata: unknown): string {
  const context =
    typeof triggerMetadata === "object" && triggerMetadata !== null
      ? (triggerMetadata as { partitionContext?: unknown }).partitionContext
      : undefined;
  const partitionId =
    typeof context === "object" && context !== null
      ? (context as { partitionId?: unknown }).partitionId
      : undefined;
  if (typeof partitionId !== "string" && typeof partitionId !== "number")
    throw new Error("the eventHub trigger's metadata names no partition (partitionContext.partitionId)");
  return String(partitionId);
}
