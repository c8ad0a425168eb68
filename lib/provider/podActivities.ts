// The pod orchestration's activities: the work with I/O or a clock, kept out of the orchestrator.
import type { V1Pod } from "@kubernetes/client-node";
import { PodTranslationError, podToDeployment, type PodProblem } from "../translate/index.js";
import type {
  WantConfiguration,
  ConfigurationPhase,
  HubSchedulerView,
} from "../scheduler/schedulerContract.js";
import type { PodLifecycle } from "../status/statusContract.js";
import type { ResolvedObjects } from "./providerContract.js";
import type { PodOwner } from "../scheduler/ownerHolds.js";
import type { PodIdentity } from "./podIdentity.js";
import type { PodRecord, PodRecords } from "./podRecords.js";

/** A pod as the HTTP API accepted it. */
export interface PodSpecInput {
  node: string;
  pod: V1Pod;
  resolved: ResolvedObjects;
  specHash: string;
  /** when the HTTP API accepted it (ISO): of two changes that arrive together, the later wins */
  acceptedAt?: string;
}

export interface TranslatePodInput {
  hub: string;
  pod: V1Pod;
  resolved: ResolvedObjects;
}

export type TranslatePodResult =
  | {
      accepted: true;
      want: Pick<WantConfiguration, "configuration" | "kind" | "modules">;
      warnings: PodProblem[];
    }
  | { accepted: false; problems: PodProblem[] };

/** podToDeployment for one hub; a refusal is a result (the pod fails), not an error (no retry). */
export function translatePod({ hub, pod, resolved }: TranslatePodInput): TranslatePodResult {
  try {
    const translation = podToDeployment(pod, resolved, { hubName: hub });
    // each container becomes the module of the same name (containerToModule)
    const modules = Object.fromEntries((pod.spec?.containers ?? []).map((c) => [c.name, c.name]));
    return {
      accepted: true,
      want: { configuration: translation.configuration, kind: translation.kind, modules },
      warnings: [...translation.warnings],
    };
  } catch (error) {
    if (error instanceof PodTranslationError) return { accepted: false, problems: [...error.problems] };
    throw error;
  }
}

export interface RecordPodInput {
  pod: PodIdentity;
  node: string;
  specHash: string;
  containers: PodRecord["containers"];
  lifecycle: PodLifecycle;
  configurationId?: string;
  owner?: PodOwner;
}

/** Writes the pod's new stage (creating the record if the HTTP API's write was lost). */
export async function recordPod(records: PodRecords, input: RecordPodInput, now: Date): Promise<number> {
  const { configurationId, owner } = input;
  const fields = {
    node: input.node,
    specHash: input.specHash,
    containers: input.containers,
    lifecycle: input.lifecycle,
    ...(configurationId !== undefined ? { configurationId } : {}),
    ...(owner !== undefined ? { owner } : {}),
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
