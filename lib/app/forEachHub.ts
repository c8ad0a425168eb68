// Timers that work hub by hub (the status reconcile, the configuration sweep): one hub's failure is
// logged without secrets and does not stop the others; the next run tries again.
import { redact } from "../hub/redact.js";

/** Where a hub's outcome goes: the Functions invocation's log in the app. */
export interface HubTaskLog {
  log(message: string): void;
  error(message: string): void;
}

export async function forEachHub(
  hubs: readonly { name: string }[],
  task: string,
  log: HubTaskLog,
  run: (hub: string) => Promise<string>,
): Promise<void> {
  for (const { name: hub } of hubs) {
    try {
      log.log(`${task} on ${hub}: ${await run(hub)}`);
    } catch (error) {
      log.error(
        `${task} on ${hub} failed: ${redact(error instanceof Error ? error.message : String(error))}`,
      );
    }
  }
}
