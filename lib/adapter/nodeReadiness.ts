// When the virtual node was not Ready. The adapter keeps the node Ready while it runs, so it was not
// Ready only while the adapter was away or cut off (stopped, frozen, partitioned): the node lifecycle
// controller then set Ready to Unknown. The adapter reads that from the Node before it writes Ready
// again, at start and after a gap in its own writes, and remembers the window: pods deleted inside
// it left without user intent (lib/adapter/retention.ts).
import type { V1Node } from "@kubernetes/client-node";

export interface NodeReadiness {
  /** whether the node was not Ready at this moment (as far as this adapter saw) */
  wasNotReadyAt(time: Date): boolean;
  /** whether the node was not Ready when this adapter started (it had been away) */
  readonly wasNotReadyAtStart: boolean;
}

/** Pods deleted in an outage are seen soon after it; older windows no longer matter. */
const keptWindows = 20;

export class NodeReadinessHistory implements NodeReadiness {
  private readonly windows: { fromMs: number; toMs: number }[] = [];
  private notReadySinceMs: number | undefined;
  private started = false;
  private notReadyAtStart = false;

  get wasNotReadyAtStart(): boolean {
    return this.notReadyAtStart;
  }

  /** The Node as read before writing Ready (undefined: it does not exist). */
  observe(node: V1Node | undefined, now: Date): void {
    const ready = node?.status?.conditions?.find((condition) => condition.type === "Ready");
    if (ready !== undefined && ready.status !== "True") {
      const since = ready.lastTransitionTime ? new Date(ready.lastTransitionTime).getTime() : now.getTime();
      this.notReadySinceMs = Math.min(since, now.getTime());
      if (!this.started) this.notReadyAtStart = true;
    }
    this.started = true;
  }

  /** Ready was written: a window seen before it ends now. */
  readyWritten(now: Date): void {
    if (this.notReadySinceMs === undefined) return;
    this.windows.push({ fromMs: this.notReadySinceMs, toMs: now.getTime() });
    if (this.windows.length > keptWindows) this.windows.shift();
    this.notReadySinceMs = undefined;
  }

  wasNotReadyAt(time: Date): boolean {
    const ms = time.getTime();
    if (this.notReadySinceMs !== undefined && ms >= this.notReadySinceMs) return true;
    return this.windows.some((window) => ms >= window.fromMs && ms <= window.toMs);
  }
}
