// What waits in a task hub's queues, for a bench run that stalled: per queue, the visible messages
// (up to 32, a peek's limit), how often each was received before (dequeue count: a message received
// before and visible again had its visibility lapse in a worker that never finished it), and what
// they are (an orchestration's event type, an activity's name, an entity's operation).
import type { QueueServiceClient } from "@azure/storage-queue";
import { EventType } from "../../dev/host/durable/historyEvents.js";
import { PEEK_MAX } from "../../lib/app/taskHubBacklog.js";

const eventTypeNames = new Map<number, string>(
  Object.entries(EventType).map(([name, value]) => [value, name]),
);

/** "activity podTranslate", "event TimerFired", "entity @hubscheduler@sim-hub schedule" */
function describeBody(text: string): string {
  let body: Record<string, unknown>;
  try {
    body = JSON.parse(text) as Record<string, unknown>;
  } catch {
    return "not JSON";
  }
  if ("$bodyBlob" in body) return "body in a blob";
  if (typeof body["entity"] === "string") return `entity ${body["entity"]} ${String(body["operation"])}`;
  if (typeof body["taskId"] === "number") return `activity ${String(body["name"])}`;
  const event = body["event"] as { EventType?: number; Name?: string } | undefined;
  if (event?.EventType !== undefined) {
    const type = eventTypeNames.get(event.EventType) ?? String(event.EventType);
    const instance = String(body["instanceId"]).split(/[:|]/)[0];
    return `${type}${event.Name ? ` ${event.Name}` : ""} for ${instance}`;
  }
  return "unknown shape";
}

const tally = (items: string[]) =>
  [
    ...items.reduce(
      (counts, item) => counts.set(item, (counts.get(item) ?? 0) + 1),
      new Map<string, number>(),
    ),
  ]
    .sort((a, b) => b[1] - a[1])
    .map(([item, count]) => `${count} x ${item}`)
    .join("; ");

export async function describeWaitingMessages(
  queues: QueueServiceClient,
  taskHubName: string,
): Promise<string> {
  const lines: string[] = [];
  for await (const queue of queues.listQueues({ prefix: `${taskHubName.toLowerCase()}-` })) {
    const client = queues.getQueueClient(queue.name);
    const [peeked, properties] = await Promise.all([
      client.peekMessages({ numberOfMessages: PEEK_MAX }),
      client.getProperties(),
    ]);
    const items = peeked.peekedMessageItems;
    lines.push(
      `${queue.name}: ${items.length} visible (of ~${properties.approximateMessagesCount ?? "?"} in all)` +
        (items.length === 0
          ? ""
          : `; dequeue counts ${tally(items.map((m) => String(m.dequeueCount)))}; ${tally(items.map((m) => describeBody(m.messageText)))}`),
    );
  }
  return lines.join("\n");
}
