// One durable orchestration per pod instance. It translates the pod, asks the hub's scheduler for
// the pod's configuration (`want`, whose answer carries the phase), waits until the configuration is
// on the hub (the scheduler's `configurationReady` event, or a poll on a durable timer), records
// each stage, and then waits for the pod to change (continue as new with the new spec: the new
// configuration is wanted before the old one is released) or to be deleted (release everything the
// pod holds, or hand it to a hold for the pod's owner when it left without user intent; forget).
// External events are never dropped: each wait's event task is kept until its event is handled, and
// before continuing as new (durable-functions for JavaScript drops unhandled events there) the
// orchestration takes what already arrived.
// Deterministic: no clock, randomness or I/O here; all of that is in the activities.
import * as df from "durable-functions";
import type { OrchestrationContext, OrchestrationHandler, Task, TimerTask } from "durable-functions";
import type { DemandResult } from "../scheduler/applierProtocol.js";
import type { PodReleaseResult } from "../scheduler/hubPlanner.js";
import { holdKey, ownerKey } from "../scheduler/ownerHolds.js";
import {
  type ConfigurationPhase,
  type ReleaseConfiguration,
  type ReleasePod,
  type WantConfiguration,
} from "../scheduler/schedulerContract.js";
import type { PodLifecycle } from "../status/statusContract.js";
import { podKey, podOwner, type PodIdentity } from "./podIdentity.js";
import type { PodRecord } from "./podRecords.js";
import { podContainers } from "./podStatusView.js";
import type { PodSpecInput, RecordPodInput, TranslatePodInput, TranslatePodResult } from "./podActivities.js";

export const podOrchestrationName = "podOrchestration";
export const podActivityNames = {
  translate: "podTranslate",
  record: "podRecord",
  forget: "podForget",
  configurationPhase: "podConfigurationPhase",
} as const;

/** External events the orchestration waits for. */
export const podEvents = {
  /** raised by the HTTP API with a PodSpecInput */
  changed: "podChanged",
  /** raised by the HTTP API (delete, node reconcile) with a PodDeletedEvent */
  deleted: "podDeleted",
  /** raised by the scheduler: `{ configurationId }` */
  configurationReady: "configurationReady",
} as const;

export interface PodOrchestrationInput {
  pod: PodIdentity;
  spec: PodSpecInput;
  /** the configuration the pod was deployed by before this spec: released once the new one is on the hub */
  deployedConfigurationId?: string;
  /** only release what the pod holds and forget it (a delete after the pod's orchestration ended) */
  deleting?: boolean;
  /** with `deleting`: the pod left without user intent; a hold for its owner keeps what it held */
  retain?: boolean;
  /** an earlier orchestration of this pod ended early: it may have left wants this one must release */
  resumed?: boolean;
}

/** Payload of `podDeleted`: `retain` when the pod left without user intent (lib/adapter/retention.ts). */
export interface PodDeletedEvent {
  retain?: boolean;
}

export const podOrchestrationTiming = {
  /** how often the orchestration asks the scheduler while it waits for its configuration */
  pollSeconds: 30,
  /** polls before the orchestration continues as new (keeps its history short) */
  pollsPerExecution: 20,
};

const activityRetry = (() => {
  const retry = new df.RetryOptions(2_000, 6);
  retry.backoffCoefficient = 2;
  retry.maxRetryIntervalInMilliseconds = 60_000;
  return retry;
})();

/** How the orchestration calls its hub's scheduler (lib/scheduler/schedulerCalls.ts: entity call, then wake its applier). */
export interface SchedulerCalls {
  want(
    context: OrchestrationContext,
    hub: string,
    request: WantConfiguration,
  ): Generator<Task, DemandResult, unknown>;
  release(
    context: OrchestrationContext,
    hub: string,
    request: ReleaseConfiguration,
  ): Generator<Task, DemandResult, unknown>;
  releasePod(
    context: OrchestrationContext,
    hub: string,
    request: ReleasePod,
  ): Generator<Task, PodReleaseResult, unknown>;
}

type EventKind = "ready" | "changed" | "deleted";
type Waited = { kind: EventKind | "poll" | "now"; value: unknown };

function readyFor(value: unknown, configurationId: string): boolean {
  const id =
    typeof value === "object" && value !== null
      ? (value as { configurationId?: unknown }).configurationId
      : value;
  return id === configurationId;
}

/** The scheduler's event says OnHub or Refused (ConfigurationReadyEvent); a bare event means OnHub. */
function readyPhase(value: unknown): ConfigurationPhase {
  const state =
    typeof value === "object" && value !== null ? (value as { state?: ConfigurationPhase }).state : undefined;
  return state?.phase === "Refused" ? state : { phase: "OnHub" };
}

/** Of several specs that arrived, the one the HTTP API accepted last. */
function newest(specs: PodSpecInput[]): PodSpecInput | undefined {
  return specs.reduce<PodSpecInput | undefined>(
    (latest, spec) =>
      latest === undefined || (spec.acceptedAt ?? "") >= (latest.acceptedAt ?? "") ? spec : latest,
    undefined,
  );
}

export function createPodOrchestrator(scheduler: SchedulerCalls): OrchestrationHandler {
  return function* podOrchestrator(context: OrchestrationContext) {
    const input = context.df.getInput<PodOrchestrationInput>();
    const { pod, spec } = input;
    const key = podKey(pod);
    const owner = podOwner(spec.pod);
    let deployed = input.deployedConfigurationId;

    // Every event task ever waited on, until its event is handled. A wait that lost a Task.any stays
    // open, and durable-functions hands the next event of its name to it: it is found here later.
    const opened: { kind: EventKind; task: Task }[] = [];
    const handled = new Set<Task>();

    function* record(lifecycle: PodLifecycle, configurationId?: string): Generator<Task, void, unknown> {
      const recordInput: RecordPodInput = {
        pod,
        node: spec.node,
        specHash: spec.specHash,
        containers: podContainers(spec.pod),
        lifecycle,
        ...(owner !== undefined && { owner }),
      };
      if (configurationId !== undefined) recordInput.configurationId = configurationId;
      yield context.df.callActivityWithRetry(podActivityNames.record, activityRetry, recordInput);
    }
    function* release(configurationId: string | undefined): Generator<Task, void, unknown> {
      if (configurationId === undefined) return;
      yield* scheduler.release(context, pod.hub, { pod: key, configurationId });
    }
    /** Events of these kinds that arrived and were not handled: a delete first, else the newest change. */
    function arrived(kinds: EventKind[]): Waited | undefined {
      const found = opened.filter(
        (entry) => kinds.includes(entry.kind) && entry.task.isCompleted && !handled.has(entry.task),
      );
      const kind = (["deleted", "changed", "ready"] as const).find((k) => found.some((f) => f.kind === k));
      if (kind === undefined) return undefined;
      const ofKind = found.filter((entry) => entry.kind === kind);
      // ready events are told apart by their configuration: take one at a time
      const taken = kind === "ready" ? ofKind.slice(0, 1) : ofKind;
      for (const entry of taken) handled.add(entry.task);
      const values = taken.map((entry) => entry.task.result);
      return { kind, value: kind === "changed" ? newest(values as PodSpecInput[]) : values.at(-1) };
    }
    function* waitFor(kinds: EventKind[], timer?: "poll" | "now"): Generator<Task, Waited, unknown> {
      const early = arrived(kinds);
      if (early !== undefined) return early;
      const tasks: Task[] = kinds.map((kind) => {
        const name = kind === "ready" ? podEvents.configurationReady : podEvents[kind];
        const task = context.df.waitForExternalEvent(name);
        opened.push({ kind, task });
        return task;
      });
      let timerTask: TimerTask | undefined;
      if (timer !== undefined) {
        const seconds = timer === "poll" ? podOrchestrationTiming.pollSeconds : 0;
        timerTask = context.df.createTimer(
          new Date(context.df.currentUtcDateTime.getTime() + seconds * 1000),
        );
        tasks.push(timerTask);
      }
      const winner = (yield context.df.Task.any(tasks)) as Task;
      if (timerTask !== undefined && winner !== timerTask && !timerTask.isCompleted) timerTask.cancel();
      return arrived(kinds) ?? { kind: timer ?? "poll", value: undefined };
    }
    function* leave(retain: boolean): Generator<Task, string, unknown> {
      yield* record({ stage: "Deleting" }, deployed);
      const holdAs =
        retain && owner !== undefined
          ? holdKey({ node: spec.node, namespace: pod.namespace, owner })
          : undefined;
      yield* scheduler.releasePod(context, pod.hub, { pod: key, ...(holdAs !== undefined && { holdAs }) });
      yield context.df.callActivityWithRetry(podActivityNames.forget, activityRetry, pod);
      return holdAs === undefined ? "deleted" : "deleted; held for its owner";
    }
    const retainOf = (value: unknown) => (value as PodDeletedEvent | null)?.retain === true;
    /** Continues as new with the newest spec; a change or delete that already arrived is not dropped. */
    function* changeTo(
      next: PodSpecInput,
      stillDeployed: string | undefined,
    ): Generator<Task, string, unknown> {
      let latest = next;
      for (;;) {
        const pending = yield* waitFor(["changed", "deleted"], "now");
        if (pending.kind === "now") break;
        if (pending.kind === "deleted") return yield* leave(retainOf(pending.value));
        latest = newest([latest, pending.value as PodSpecInput]) ?? latest;
      }
      const nextInput: PodOrchestrationInput = { pod, spec: latest };
      if (stillDeployed !== undefined) nextInput.deployedConfigurationId = stillDeployed;
      context.df.continueAsNew(nextInput);
      return "changed";
    }

    if (input.deleting === true) return yield* leave(input.retain === true);

    const translateInput: TranslatePodInput = { hub: pod.hub, pod: spec.pod, resolved: spec.resolved };
    const translated = (yield context.df.callActivityWithRetry(
      podActivityNames.translate,
      activityRetry,
      translateInput,
    )) as TranslatePodResult;

    if (!translated.accepted) {
      yield* record({ stage: "Refused", problems: translated.problems });
      yield* release(deployed);
      deployed = undefined;
    } else {
      const wanted = translated.want.configuration.id;
      const want: WantConfiguration = {
        ...translated.want,
        pod: key,
        node: spec.node,
        notifyInstanceId: context.df.instanceId,
        ...(owner !== undefined && { owner: ownerKey(pod.namespace, owner) }),
      };
      const demand = yield* scheduler.want(context, pod.hub, want);
      let phase: ConfigurationPhase = demand.state ?? { phase: "Creating" };
      // the record names the configuration the pod is deployed by: the new one once it is on the hub
      const deployedBy = () => (phase.phase === "OnHub" ? wanted : deployed);
      yield* record({ stage: "Scheduled", configurationId: wanted, configuration: phase }, deployedBy());

      let onHub = phase.phase === "OnHub";
      for (
        let poll = 0;
        poll < podOrchestrationTiming.pollsPerExecution && !onHub && phase.phase !== "Refused";
        poll += 1
      ) {
        const waited = yield* waitFor(["ready", "changed", "deleted"], "poll");
        if (waited.kind === "deleted") return yield* leave(retainOf(waited.value));
        if (waited.kind === "changed") {
          if (wanted !== deployed) yield* release(wanted);
          return yield* changeTo(waited.value as PodSpecInput, deployed);
        }
        if (waited.kind === "ready" && !readyFor(waited.value, wanted)) continue;
        const next =
          waited.kind === "ready"
            ? readyPhase(waited.value)
            : ((yield context.df.callActivityWithRetry(podActivityNames.configurationPhase, activityRetry, {
                hub: pod.hub,
                configurationId: wanted,
              })) as ConfigurationPhase | null);
        if (next === null || JSON.stringify(next) === JSON.stringify(phase)) continue;
        phase = next;
        yield* record({ stage: "Scheduled", configurationId: wanted, configuration: phase }, deployedBy());
        if (phase.phase === "OnHub") onHub = true;
      }
      if (!onHub && phase.phase !== "Refused") return yield* changeTo(spec, deployed);
      // a configuration the hub refused is not kept for this pod; the old one (if any) stays
      if (phase.phase === "Refused" && wanted !== deployed) yield* release(wanted);
      // on the hub: whatever else the pod held goes (the old configuration of an update, and what an
      // earlier run that ended early may have wanted)
      if (onHub && (input.resumed === true || (deployed !== undefined && deployed !== wanted)))
        yield* scheduler.releasePod(context, pod.hub, { pod: key, keep: wanted });
      deployed = onHub ? wanted : deployed;
    }

    const waited = yield* waitFor(["changed", "deleted"]);
    if (waited.kind === "changed") return yield* changeTo(waited.value as PodSpecInput, deployed);
    return yield* leave(retainOf(waited.value));
  };
}

/** The input of an orchestration that only releases what a pod holds and forgets it, from its record. */
export function deletingInput(record: PodRecord): PodOrchestrationInput {
  const { hub, namespace, name, uid, owner } = record;
  const ownerReferences = owner === undefined ? undefined : [{ apiVersion: "", ...owner, controller: true }];
  return {
    pod: { hub, namespace, name, uid },
    spec: {
      node: record.node,
      pod: { metadata: { namespace, name, uid, ownerReferences }, spec: { containers: record.containers } },
      resolved: { configMaps: {}, secrets: {} },
      specHash: record.specHash,
    },
    deleting: true,
    ...(record.configurationId ? { deployedConfigurationId: record.configurationId } : {}),
  };
}
