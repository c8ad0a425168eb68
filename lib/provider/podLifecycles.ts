// The stages a pod's record holds once its translation is known, built alike by the HTTP API (when
// it creates the record) and by the pod's orchestration, which then writes no stage the record
// already holds.
import stringify from "safe-stable-stringify";
import type { ConfigurationPhase } from "../scheduler/schedulerContract.js";
import type { PodLifecycle } from "../status/statusContract.js";
import type { PodSpecInput, TranslatePodResult } from "./podActivities.js";

/** Translation or the node's fleet policy refused the pod: it fails with the reason and the fields. */
export function refusedLifecycle(refused: TranslatePodResult & { accepted: false }): PodLifecycle {
  const { reason, problems, node } = refused;
  return { stage: "Refused", problems, reason, ...(node !== undefined && { node }) };
}

/** The pod's configuration is with the scheduler in `phase`; mid-rollout, with the stage it was translated at. */
export function scheduledLifecycle(
  configurationId: string,
  phase: ConfigurationPhase,
  spec: Pick<PodSpecInput, "rollout">,
  translated: TranslatePodResult & { accepted: true },
): PodLifecycle {
  // the stage with its target condition, which tells the pod's status an evaluated empty stage
  const rollout = spec.rollout !== undefined ? { rollout: translated.stage ?? spec.rollout } : {};
  return { stage: "Scheduled", configurationId, configuration: phase, ...rollout };
}

/** Whether two stages are the same, whatever their keys' order after a trip through storage. */
export function sameLifecycle(a: PodLifecycle | undefined, b: PodLifecycle): boolean {
  return a !== undefined && stringify(a) === stringify(b);
}
