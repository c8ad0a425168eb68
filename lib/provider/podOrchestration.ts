// One durable orchestration per pod instance. It takes the pod as the HTTP API translated it (or
// translates it, for inputs from before), asks the hub's scheduler for
// the pod's configuration (`want`, whose answer carries the phase), waits until the configuration is
// on the hub (the scheduler's `configurationReady` event, or a poll on a durable timer), records
// each stage, and then waits
// for the pod to change (continue as new with the new spec: the new configuration is wanted
// before the old one is released) or to be deleted (release, forget).
// Deterministic: no clock, randomness or I/O here; all of that is in the activities.
// Events are never dropped: durable-functions for JavaScript hands an event to the newest open waiter
// of its name (a waiter that lost a Task.any still takes one) and forgets, at continueAsNew, every
// event not yet taken. So a wait first takes what an earlier wait's losers took, and before it
// continues as new the orchestration collects what is pending (a delete ends it here, the latest
// change becomes the next input).
import * as df from "durable-functions";
import type { OrchestrationContext, OrchestrationHandler, Task, TimerTask } from "durable-functions";
import { backoffStepMs } from "../hub/backoff.js";
import { configurationContentNeededEventName, type DemandResult } from "../scheduler/applierProtocol.js";
import {
  type ConfigurationPhase,
  type ReleaseConfiguration,
  type WantConfiguration,
} from "../scheduler/schedulerContract.js";
import type { PodLifecycle } from "../status/statusContract.js";
import { podKey, type PodIdentity } from "./podIdentity.js";
import { podContainers } from "./podStatusView.js";
import type { PodSpecInput, RecordPodInput, TranslatePodInput, TranslatePodResult } from "./podActivities.js";
import { refusedLifecycle, sameLifecycle, scheduledLifecycle } from "./podLifecycles.js";

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
  /** raised by the HTTP API (delete, node reconcile) */
  deleted: "podDeleted",
  /** raised by the scheduler: `{ configurationId }` */
  configurationReady: "configurationReady",
  /** raised by the scheduler when its configuration vanished from the hub after its content was dropped */
  contentNeeded: configurationContentNeededEventName,
} as const;

export interface PodOrchestrationInput {
  pod: PodIdentity;
  spec: PodSpecInput;
  /** the configuration the pod was deployed by before this spec: released once the new one is on the hub */
  deployedConfigurationId?: string;
  /** only release what the pod holds and forget it (a delete after the pod's orchestration ended) */
  deleting?: boolean;
  /**
   * What an ended (failed) orchestration of the pod left held at the scheduler, read by the HTTP API
   * when it started this one: released like the deployed configuration. The sweep cannot tell these
   * from a running orchestration's own want, so without this they would stay held for good.
   */
  leftoverConfigurationIds?: string[];
  /**
   * The stage the pod's record held for this spec when the HTTP API started this execution (it
   * writes the stage when it creates the record): the first record of the same stage is skipped.
   */
  recorded?: PodLifecycle;
  /**
   * The configuration the scheduler's view (under a second old) showed on the hub when the HTTP API
   * created the pod's record: the want is then signalled, not called. On the hub it is taken at once
   * (a configuration leaves the hub only a grace period after its last pod released it, or when
   * someone deletes it, and then the scheduler asks its holders for the content again), so the answer
   * would say OnHub; not waiting for it saves a new replica an episode and the answer's message.
   * Durable delivers one orchestration's messages to an entity in order, so a later release follows it.
   */
  configurationOnHub?: string;
}

export const podOrchestrationTiming = {
  /**
   * The first wait before the orchestration asks the scheduler while it waits for its configuration;
   * each later wait doubles, up to maxPollSeconds. The configurationReady event is what ends a wait;
   * the poll is for an event that never came, and a thousand pods polling every 30 s through a long
   * wait crowded the scheduler they waited for (docs/benchmarks.md).
   */
  pollSeconds: 30,
  maxPollSeconds: 300,
  /** polls before the orchestration continues as new (keeps its history short) */
  pollsPerExecution: 20,
};

const activityRetry = (() => {
  const retry = new df.RetryOptions(2_000, 6);
  retry.backoffCoefficient = 2;
  retry.maxRetryIntervalInMilliseconds = 60_000;
  return retry;
})();

/** How the orchestration calls its hub's scheduler (functions/hubSchedulerCalls.ts: entity call, then wake its applier). */
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
  /** `want` sent one way, for a configuration on the hub: no answer, no applier to wake. */
  signalWant(context: OrchestrationContext, hub: string, request: WantConfiguration): void;
}

type Waited = { kind: "ready" | "changed" | "deleted" | "contentNeeded" | "poll"; value: unknown };

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

export function createPodOrchestrator(scheduler: SchedulerCalls): OrchestrationHandler {
  return function* podOrchestrator(context: OrchestrationContext) {
    const input = context.df.getInput<PodOrchestrationInput>();
    const { pod, spec } = input;
    const key = podKey(pod);
    let deployed = input.deployedConfigurationId;
    let leftovers = input.leftoverConfigurationIds ?? [];
    let recorded = input.recorded;

    function* record(lifecycle: PodLifecycle, configurationId?: string): Generator<Task, void, unknown> {
      const already = sameLifecycle(recorded, lifecycle);
      recorded = undefined; // after the first record, the record holds what this execution wrote
      if (already) return;
      const recordInput: RecordPodInput = {
        pod,
        node: spec.node,
        ...(spec.cluster !== undefined ? { cluster: spec.cluster } : {}),
        specHash: spec.specHash,
        containers: podContainers(spec.pod),
        lifecycle,
      };
      if (configurationId !== undefined) recordInput.configurationId = configurationId;
      yield context.df.callActivityWithRetry(podActivityNames.record, activityRetry, recordInput);
    }
    function* release(configurationId: string | undefined): Generator<Task, void, unknown> {
      if (configurationId === undefined) return;
      leftovers = leftovers.filter((id) => id !== configurationId);
      yield* scheduler.release(context, pod.hub, { pod: key, configurationId });
    }
    /** Releases the deployed configuration and the leftovers, all but `kept`. */
    function* releaseEarlier(kept?: string): Generator<Task, void, unknown> {
      for (const id of new Set([deployed, ...leftovers])) if (id !== kept) yield* release(id);
      leftovers = [];
    }
    /** event waiters that lost an earlier Task.any: each may have taken an event since */
    let unsettled: { kind: Waited["kind"]; task: Task }[] = [];
    const priority: Waited["kind"][] = ["deleted", "changed", "contentNeeded", "ready"];
    function takeUnsettled(kinds: Waited["kind"][]): Waited | undefined {
      const taken = unsettled
        .filter((entry) => kinds.includes(entry.kind) && entry.task.isCompleted)
        .sort((a, b) => priority.indexOf(a.kind) - priority.indexOf(b.kind))[0];
      if (taken === undefined) return undefined;
      unsettled = unsettled.filter((entry) => entry !== taken);
      return { kind: taken.kind, value: taken.task.result };
    }
    function* waitFor(kinds: Waited["kind"][], pollSeconds = 0): Generator<Task, Waited, unknown> {
      const early = takeUnsettled(kinds);
      if (early !== undefined) return early;
      const tasks: { kind: Waited["kind"]; task: Task }[] = [];
      let timer: TimerTask | undefined;
      for (const kind of kinds) {
        if (kind === "poll") {
          const fireAt = new Date(context.df.currentUtcDateTime.getTime() + pollSeconds * 1000);
          timer = context.df.createTimer(fireAt);
          tasks.push({ kind, task: timer });
        } else {
          const name = kind === "ready" ? podEvents.configurationReady : podEvents[kind];
          tasks.push({ kind, task: context.df.waitForExternalEvent(name) });
        }
      }
      const winner = (yield context.df.Task.any(tasks.map((entry) => entry.task))) as Task;
      if (timer !== undefined && winner !== timer && !timer.isCompleted) timer.cancel();
      const found = tasks.find((entry) => entry.task === winner)!;
      // a newer waiter of a name takes its events: older ones of the same names can take no more
      const open = tasks.filter((entry) => entry.task !== winner && entry.kind !== "poll");
      unsettled = [...unsettled.filter((old) => !kinds.includes(old.kind) || old.task.isCompleted), ...open];
      return { kind: found.kind, value: winner.result };
    }
    /**
     * The events that arrived and were not handled: those earlier losers took, then those buffered
     * (a waiter takes a buffered event at once; a timer due now ends the search in the next episode).
     */
    function* pendingEvents(): Generator<Task, { deleted: boolean; changed?: unknown }, unknown> {
      const pending: { deleted: boolean; changed?: unknown } = { deleted: false };
      const note = (kind: Waited["kind"], value: unknown) => {
        if (kind === "deleted") pending.deleted = true;
        if (kind === "changed") pending.changed = value;
      };
      for (const entry of unsettled) if (entry.task.isCompleted) note(entry.kind, entry.task.result);
      unsettled = [];
      for (;;) {
        const waiters = (["changed", "deleted"] as const).map((kind) => ({
          kind,
          task: context.df.waitForExternalEvent(podEvents[kind]),
        }));
        const now = context.df.createTimer(context.df.currentUtcDateTime);
        const winner = (yield context.df.Task.any([...waiters.map((entry) => entry.task), now])) as Task;
        if (winner === now) return pending;
        now.cancel();
        note(waiters.find((entry) => entry.task === winner)!.kind, winner.result);
      }
    }
    function* leave(): Generator<Task, string, unknown> {
      yield* record({ stage: "Deleting" }, deployed);
      yield* releaseEarlier();
      yield context.df.callActivityWithRetry(podActivityNames.forget, activityRetry, pod);
      return "deleted";
    }
    /**
     * Continues as new with `next`, unless a pending event says otherwise: a delete leaves here, a
     * later change is the next input. `stillWanted` is a configuration wanted and not on the hub yet,
     * which the next execution wants again with the same spec, and is released if the spec changes.
     */
    function* changeTo(
      next: unknown,
      stillDeployed: string | undefined,
      stillWanted?: string,
    ): Generator<Task, string, unknown> {
      const pending = yield* pendingEvents();
      const changed = pending.changed !== undefined;
      if ((pending.deleted || changed) && stillWanted !== undefined && stillWanted !== stillDeployed)
        yield* release(stillWanted);
      if (pending.deleted) {
        deployed = stillDeployed;
        return yield* leave();
      }
      const nextInput: PodOrchestrationInput = {
        pod,
        spec: (changed ? pending.changed : next) as PodSpecInput,
      };
      if (stillDeployed !== undefined) nextInput.deployedConfigurationId = stillDeployed;
      if (leftovers.length > 0) nextInput.leftoverConfigurationIds = leftovers;
      context.df.continueAsNew(nextInput);
      return "changed";
    }

    if (input.deleting === true) return yield* leave();

    const translateInput: TranslatePodInput = {
      hub: pod.hub,
      node: spec.node,
      pod: spec.pod,
      resolved: spec.resolved,
      ...(spec.rollout !== undefined && { rollout: spec.rollout }),
    };
    const translated =
      spec.translated ??
      ((yield context.df.callActivityWithRetry(
        podActivityNames.translate,
        activityRetry,
        translateInput,
      )) as TranslatePodResult);

    if (!translated.accepted) {
      yield* record(refusedLifecycle(translated));
      yield* releaseEarlier();
      deployed = undefined;
    } else {
      const wanted = translated.want.configuration.id;
      const want: WantConfiguration = {
        ...translated.want,
        pod: key,
        node: spec.node,
        notifyInstanceId: context.df.instanceId,
      };
      // mid-rollout a want may move the configuration's target, which the applier must carry out
      let phase: ConfigurationPhase;
      if (input.configurationOnHub === wanted && spec.rollout === undefined) {
        scheduler.signalWant(context, pod.hub, want);
        phase = { phase: "OnHub" };
      } else phase = (yield* scheduler.want(context, pod.hub, want)).state ?? { phase: "Creating" };
      yield* record(scheduledLifecycle(wanted, phase, spec, translated), wanted);

      let onHub = phase.phase === "OnHub";
      for (
        let poll = 0;
        poll < podOrchestrationTiming.pollsPerExecution && !onHub && phase.phase !== "Refused";
        poll += 1
      ) {
        const pollSeconds =
          backoffStepMs(poll + 1, {
            baseDelayMs: podOrchestrationTiming.pollSeconds * 1000,
            maxDelayMs: podOrchestrationTiming.maxPollSeconds * 1000,
          }) / 1000;
        const waited = yield* waitFor(["ready", "changed", "deleted", "poll"], pollSeconds);
        if (waited.kind === "deleted") {
          if (wanted !== deployed) yield* release(wanted);
          return yield* leave();
        }
        if (waited.kind === "changed") {
          if (wanted !== deployed) yield* release(wanted);
          return yield* changeTo(waited.value, deployed);
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
        yield* record(scheduledLifecycle(wanted, phase, spec, translated), wanted);
        if (phase.phase === "OnHub") onHub = true;
      }
      if (!onHub && phase.phase !== "Refused") return yield* changeTo(spec, deployed, wanted);
      // a configuration the hub refused is not kept for this pod; the old one (if any) stays
      if (phase.phase === "Refused" && wanted !== deployed) yield* release(wanted);
      if (onHub) yield* releaseEarlier(wanted);
      deployed = onHub ? wanted : deployed;
    }

    const waited = yield* waitFor(["changed", "deleted", "contentNeeded"]);
    if (waited.kind === "changed") return yield* changeTo(waited.value, deployed);
    // the hub lost the configuration and the scheduler keeps no content: translate and want it again
    if (waited.kind === "contentNeeded") return yield* changeTo(spec, deployed);
    return yield* leave();
  };
}
