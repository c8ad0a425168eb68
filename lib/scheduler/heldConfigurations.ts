// Which configurations a pod holds at its hub's scheduler, read from the scheduler entity's state.
import type { PodKey } from "./schedulerContract.js";

/** The ids of the configurations that list `pod` in the scheduler's state (none before its first operation). */
export function configurationsHeldBy(schedulerState: unknown, pod: PodKey): string[] {
  const configurations =
    (schedulerState as { configurations?: Record<string, { pods: string[] }> } | undefined)?.configurations ??
    {};
  return Object.entries(configurations).flatMap(([id, managed]) => (managed.pods.includes(pod) ? [id] : []));
}
