// Test helpers: a real EventHubConsumerClient subscription that collects what it receives, and a
// bounded wait for a condition (arrival of events is asynchronous; nothing here asserts on time).
import {
  EventHubConsumerClient,
  type ReceivedEventData,
  type SubscribeOptions,
  type Subscription,
} from "@azure/event-hubs";

export interface Collected {
  events: (ReceivedEventData & { partitionId: string })[];
  errors: Error[];
  subscription: Subscription;
}

/** Fast-failing client options: no retries, so refusals surface at once. */
export const noRetries = { retryOptions: { maxRetries: 0, retryDelayInMs: 10, timeoutInMs: 10_000 } };

export function collect(
  client: EventHubConsumerClient,
  options: SubscribeOptions & { partitionId?: string },
): Collected {
  const { partitionId, ...subscribeOptions } = options;
  const collected: Omit<Collected, "subscription"> = { events: [], errors: [] };
  const handlers = {
    processEvents: (events: ReceivedEventData[], context: { partitionId: string }) => {
      for (const event of events) collected.events.push({ ...event, partitionId: context.partitionId });
      return Promise.resolve();
    },
    processError: (error: Error) => {
      collected.errors.push(error);
      return Promise.resolve();
    },
  };
  const subscription =
    partitionId === undefined
      ? client.subscribe(handlers, { maxWaitTimeInSeconds: 1, ...subscribeOptions })
      : client.subscribe(partitionId, handlers, { maxWaitTimeInSeconds: 1, ...subscribeOptions });
  return { ...collected, subscription };
}

/** Polls until the condition holds, at most `attempts` times 20 ms apart; throws with `what` if it never does. */
export async function waitFor(what: string, condition: () => boolean, attempts = 500): Promise<void> {
  for (let attempt = 0; attempt < attempts; attempt++) {
    if (condition()) return;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  throw new Error(`timed out waiting for ${what}`);
}
