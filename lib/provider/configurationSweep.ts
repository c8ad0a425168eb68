// The configuration sweep: a pod listed on a configuration by its hub's scheduler keeps it while the
// pod wants it (its record names it and is not being deleted) or while the pod's orchestration runs
// (that will record it or release it). A hold left by an orchestration that ended early (failed
// between `want` and its first record, during an update whose record names the new configuration,
// or while deleting before its release) is released through the scheduler, which deletes the
// configuration after the grace period once no pod holds it; an update's old configuration only
// once the new one is on the hub. The app's base deployment is its own orchestration's and is left
// alone.
import type { HubSchedulerView, ReleaseConfiguration } from "../scheduler/schedulerContract.js";
import { podInstanceIdOfKey, podKey } from "./podIdentity.js";
import type { PodRecord } from "./podRecords.js";

export interface SweepDeps {
  hub: string;
  readView(): Promise<HubSchedulerView | undefined>;
  /** every pod record of the hub */
  listRecords(): Promise<PodRecord[]>;
  isRunning(instanceId: string): Promise<boolean>;
  release(request: ReleaseConfiguration): Promise<void>;
}

/** Whether the pod's record still wants the configuration. */
function wants(record: PodRecord | undefined, configurationId: string): boolean {
  if (record === undefined || record.lifecycle.stage === "Deleting") return false;
  if (record.configurationId === configurationId) return true;
  return record.lifecycle.stage === "Scheduled" && record.lifecycle.configurationId === configurationId;
}

/**
 * The configuration the pod's record waits for, while the scheduler has not put it on the hub yet:
 * the pod's other holds stay until it is there, so its devices are never left without its workload.
 */
function replacementPending(record: PodRecord | undefined, view: HubSchedulerView): boolean {
  if (record?.lifecycle.stage !== "Scheduled") return false;
  const state = view.configurations[record.lifecycle.configurationId]?.state.phase;
  return state !== undefined && state !== "OnHub" && state !== "Refused";
}

/**
 * One sweep of a hub. The scheduler's view is read before the records, so a pod that wants a
 * configuration after the view was read is not in it, and one that recorded meanwhile is seen.
 */
export async function sweepConfigurations(deps: SweepDeps): Promise<{ released: ReleaseConfiguration[] }> {
  const view = await deps.readView();
  if (view === undefined) return { released: [] };
  const records = new Map((await deps.listRecords()).map((record) => [podKey(record), record]));
  const released: ReleaseConfiguration[] = [];
  for (const configuration of Object.values(view.configurations)) {
    if (configuration.kind === "base") continue;
    for (const pod of configuration.pods) {
      const instanceId = podInstanceIdOfKey(deps.hub, pod);
      const record = records.get(pod);
      if (instanceId === undefined || wants(record, configuration.id) || replacementPending(record, view))
        continue;
      if (await deps.isRunning(instanceId)) continue;
      const request = { pod, configurationId: configuration.id };
      await deps.release(request);
      released.push(request);
    }
  }
  return { released };
}
