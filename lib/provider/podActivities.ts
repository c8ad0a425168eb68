// The pod orchestration's activities: the work with I/O or a clock, kept out of the orchestrator.
import type { V1Pod } from "@kubernetes/client-node";
import type { NodePolicy } from "../policy/fleetPolicy.js";
import { workloadOf } from "../policy/nameConflicts.js";
import { decidePod } from "../policy/podPolicy.js";
import type { PodRefusal } from "../policy/podRefusal.js";
import type { PodProblem } from "../translate/index.js";
import type {
  WantConfiguration,
  ConfigurationPhase,
  HubSchedulerView,
} from "../scheduler/schedulerContract.js";
import type { PodLifecycle } from "../status/statusContract.js";
import type { ResolvedObjects, RolloutStage } from "./providerContract.js";
import { stagedPriority, stagedTargetCondition, type RolloutStageRecord } from "../rollout/rolloutStage.js";
import { stagedRolloutAllowed } from "../translate/annotations.js";
import type { EdgeConfiguration } from "../translate/deploymentTypes.js";
import type { PodIdentity } from "./podIdentity.js";
import type { PodRecord, PodRecords } from "./podRecords.js";

/** A pod as the HTTP API accepted it. */
export interface PodSpecInput {
  node: string;
  /** the cluster of the node that sent it (absent in orchestrations started before clusters were told apart) */
  cluster?: string;
  pod: V1Pod;
  resolved: ResolvedObjects;
  rollout?: RolloutStage;
  specHash: string;
  /**
   * The HTTP API's translation of this spec under the node's fleet policy: the orchestration wants
   * it at once (absent in specs from before, and in a deleting orchestration's: it translates then).
   */
  translated?: TranslatePodResult;
}

export interface TranslatePodInput {
  hub: string;
  /** the virtual node the pod is bound to: its fleet policy decides */
  node: string;
  pod: V1Pod;
  resolved: ResolvedObjects;
  /** the stage of the pod's Deployment's rollout: the configuration reaches part of its devices */
  rollout?: RolloutStage;
}

export type TranslatePodResult =
  | {
      accepted: true;
      want: Pick<WantConfiguration, "configuration" | "kind" | "modules" | "workload">;
      warnings: PodProblem[];
      /** the stage the configuration was translated at (absent when the pod goes all at once) */
      stage?: Required<RolloutStageRecord>;
    }
  | ({ accepted: false } & PodRefusal);

/**
 * The node's fleet policy decides, and translates the pod for one hub. A refusal is a result (the
 * pod fails), not an error: the decision is pure, so a retry could only fail the same way, and an
 * unexpected error is a refusal too rather than six failed attempts and a pod left Accepted.
 */
export function translatePod(
  { hub, node, pod, resolved, rollout }: TranslatePodInput,
  policy: NodePolicy,
): TranslatePodResult {
  let decision;
  try {
    decision = decidePod({ pod, resolved, node, policy, hubName: hub });
  } catch (error) {
    const what = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
    const reason = `the connector failed on this pod (${what.slice(0, 200)}); please report it`;
    return { accepted: false, reason: "UnsupportedPod", problems: [{ field: "pod", reason }], node };
  }
  if (!decision.allowed) return { accepted: false, ...decision.refusal };
  const { translation } = decision;
  // each container becomes the module of the same name (containerToModule)
  const modules = Object.fromEntries((pod.spec?.containers ?? []).map((c) => [c.name, c.name]));
  const staged = rollout && stagedRolloutAllowed(pod.metadata?.annotations);
  const configuration = staged
    ? stagedConfiguration(translation.configuration, rollout.percent)
    : translation.configuration;
  return {
    accepted: true,
    want: { configuration, kind: translation.kind, modules, workload: workloadOf(pod) },
    warnings: [...translation.warnings],
    ...(staged && { stage: { percent: rollout.percent, targetCondition: configuration.targetCondition } }),
  };
}

/**
 * The configuration at a rollout stage: the same id (computed from the pod's own target condition and
 * priority, so every stage is the same configuration, moved in place), the staged target and priority.
 */
function stagedConfiguration(configuration: EdgeConfiguration, percent: number): EdgeConfiguration {
  return {
    ...configuration,
    targetCondition: stagedTargetCondition(configuration.targetCondition, percent),
    priority: stagedPriority(configuration.priority),
  };
}

export interface RecordPodInput {
  pod: PodIdentity;
  node: string;
  cluster?: string;
  specHash: string;
  containers: PodRecord["containers"];
  lifecycle: PodLifecycle;
  configurationId?: string;
}

/** Writes the pod's new stage (creating the record if the HTTP API's write was lost). */
export async function recordPod(records: PodRecords, input: RecordPodInput, now: Date): Promise<number> {
  const { configurationId } = input;
  const fields = {
    node: input.node,
    ...(input.cluster !== undefined ? { cluster: input.cluster } : {}),
    specHash: input.specHash,
    containers: input.containers,
    lifecycle: input.lifecycle,
    ...(configurationId !== undefined ? { configurationId } : {}),
  };
  const written = await records.update(
    input.pod,
    (record): PodRecord => {
      const { configurationId: _previous, ...rest } = record;
      return { ...rest, ...fields };
    },
    now,
    { ...input.pod, ...fields },
  );
  return written?.version ?? 0;
}

/** The configuration's phase in the scheduler's entity state, or null when the scheduler does not know it (yet). */
export function configurationPhaseIn(state: unknown, configurationId: string): ConfigurationPhase | null {
  if (typeof state !== "object" || state === null) return null;
  const configurations = (state as Partial<HubSchedulerView>).configurations;
  return configurations?.[configurationId]?.state ?? null;
}
