// A seam for tests of what follows a failing step: activity invocations that fail on purpose. The
// file named by LOCAL_HOST_ACTIVITY_FAULTS (read at each activity, so a test can add faults while the
// host runs) holds `[{ "id", "activity", "inputContains"?, "failures" }]`: the first `failures`
// invocations of that activity whose JSON input contains every text of `inputContains` throw. The Durable extension's
// retries then play out as they would for a real failure (an orchestration fails once they are spent).
import { readFileSync } from "node:fs";

export interface ActivityFault {
  /** tells faults apart: each one's failures are counted once */
  id: string;
  activity: string;
  inputContains?: string[];
  failures: number;
}

export const activityFaultsSetting = "LOCAL_HOST_ACTIVITY_FAULTS";

export class ActivityFaults {
  private readonly used = new Map<string, number>();

  constructor(private readonly file: string | undefined) {}

  /** Throws when this invocation is to fail. */
  check(activity: string, input: string | null): void {
    if (this.file === undefined) return;
    for (const fault of this.read()) {
      if (fault.activity.toLowerCase() !== activity.toLowerCase()) continue;
      if (!(fault.inputContains ?? []).every((text) => (input ?? "").includes(text))) continue;
      const used = this.used.get(fault.id) ?? 0;
      if (used >= fault.failures) continue;
      this.used.set(fault.id, used + 1);
      throw new Error(`injected fault ${fault.id} (${used + 1} of ${fault.failures})`);
    }
  }

  private read(): ActivityFault[] {
    try {
      return JSON.parse(readFileSync(this.file!, "utf8")) as ActivityFault[];
    } catch {
      return []; // no file yet, or half written: no fault this time
    }
  }
}
