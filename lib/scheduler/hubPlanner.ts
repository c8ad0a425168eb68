// The scheduler's decisions, pure: given the state, an operation and the time, change the state and
// say what follows. The `hubScheduler` entity calls these; tests drive them with a virtual clock.
// Order of hub work: the hub's list first when its count is unknown, then creates in the order they
// were wanted, then in-place moves of a configuration's target condition and priority (the stages of
// a staged rollout), then deletes whose grace has passed (sooner when a create waits for a free slot).
import { nextTokenAtMs, refill } from "./hubBudget.js";
import {
  configurationContentNeededEventName,
  type ConfigurationReadyEvent,
  type ActionResult,
  type ApplierWork,
  type DemandResult,
  type HubAction,
  type PendingNotification,
} from "./applierProtocol.js";
import type {
  ChargeOperations,
  ConfigurationPhase,
  ManagedConfiguration,
  PodKey,
  ReleaseConfiguration,
  WantConfiguration,
} from "./schedulerContract.js";
import type { ConfigurationRecord, SchedulerState } from "./schedulerState.js";
import { configurationNames, nameConflict, type PlacedConfiguration } from "../policy/nameConflicts.js";
import { podInstanceIdOfKey } from "../provider/podIdentity.js";

/** How the state keeps an orchestration to notify: "" for the pod's own, the id of any other. */
function storedInstanceId(hub: string, pod: PodKey, instanceId: string): string {
  return instanceId === podInstanceIdOfKey(hub, pod) ? "" : instanceId;
}

/** The orchestration a stored id names (absent or "": the pod's own). */
function instanceIdOf(hub: string, pod: PodKey, stored: string | undefined): string {
  return stored === undefined || stored === "" ? podInstanceIdOfKey(hub, pod)! : stored;
}

/**
 * Hub operations handed out at once (run in parallel by the applier): a unit's burst. Each round is
 * several hops through the task hub's queues, behind a burst's pod messages: at 5 a round, the ten
 * configurations of a burst of Deployments took three rounds to be created (docs/benchmarks.md).
 */
export const maxActionsPerBatch = 20;
const backoffBaseMs = 1_000;
const backoffMaxMs = 60_000;

interface Assessment {
  /** Queued creates that may go now (a slot is free), in order. */
  creatable: string[];
  /** Configurations on the hub whose target condition or priority is to change in place. */
  retargetable: string[];
  /** Deletes that may go now, soonest due first. */
  deletable: string[];
  /** The earliest future moment a released configuration becomes deletable. */
  nextDeleteDueMs?: number;
}

const podsOf = (state: SchedulerState, id: string) => state.configurations[id]?.pods ?? [];

function deploymentsUsed(state: SchedulerState): number {
  let owned = 0;
  for (const record of Object.values(state.records))
    if (record.onHub || record.inFlight === "create") owned++;
  return state.foreignDeployments + owned;
}

/** Creates that wait only for the budget and a slot: not in flight, their content at hand. */
function queuedCreates(state: SchedulerState): string[] {
  return state.createQueue.filter((id) => {
    const record = state.records[id];
    return record?.inFlight === undefined && record?.configuration !== undefined;
  });
}

/** A pod that released this configuration still waits for the one replacing it. */
function waitsForReplacement(state: SchedulerState, id: string): boolean {
  const releasers = new Set(state.records[id]?.releasedBy ?? []);
  return Object.entries(state.records).some(
    ([otherId, other]) =>
      otherId !== id &&
      !other.onHub &&
      other.refused === undefined &&
      podsOf(state, otherId).some((pod) => releasers.has(pod)),
  );
}

/** On the hub, held by a pod, idle, and the hub's target differs from the wanted one (content at hand). */
function retargetDue(state: SchedulerState, id: string, record: ConfigurationRecord): boolean {
  const managed = state.configurations[id];
  const hub = record.hubTarget;
  return (
    hub !== undefined &&
    managed !== undefined &&
    record.onHub &&
    record.inFlight === undefined &&
    record.configuration !== undefined &&
    managed.pods.length > 0 &&
    (hub.targetCondition !== managed.targetCondition || hub.priority !== managed.priority)
  );
}

function assess(state: SchedulerState, nowMs: number): Assessment {
  const queued = queuedCreates(state);
  const freeSlots = Math.max(0, state.deploymentLimit - deploymentsUsed(state));
  const creatable = queued.slice(0, freeSlots);
  // A create waits for a slot: released configurations need not sit out their grace.
  const underPressure = queued.length > creatable.length;
  const due: { id: string; dueMs: number }[] = [];
  let nextDeleteDueMs: number | undefined;
  for (const [id, record] of Object.entries(state.records)) {
    if (!record.onHub || record.inFlight !== undefined || podsOf(state, id).length > 0) continue;
    const dueMs = (record.releasedAtMs ?? nowMs) + state.graceMs;
    if (underPressure || (dueMs <= nowMs && !waitsForReplacement(state, id))) due.push({ id, dueMs });
    else if (dueMs > nowMs) nextDeleteDueMs = Math.min(nextDeleteDueMs ?? dueMs, dueMs);
  }
  due.sort((a, b) => a.dueMs - b.dueMs);
  const retargetable = Object.entries(state.records)
    .filter(([id, record]) => retargetDue(state, id, record))
    .map(([id]) => id);
  return {
    creatable,
    retargetable,
    deletable: due.map((d) => d.id),
    ...(nextDeleteDueMs !== undefined && { nextDeleteDueMs }),
  };
}

/** Recomputes every configuration's phase and the hub's deployment count after a change. */
function refresh(state: SchedulerState, nowMs: number): void {
  const { creatable, deletable } = assess(state, nowMs);
  state.deploymentsOnHub = deploymentsUsed(state) - countInFlightCreates(state);
  const deleting = new Set(deletable);
  const queued = queuedCreates(state);
  for (const [id, record] of Object.entries(state.records)) {
    const managed = state.configurations[id];
    if (!managed) continue;
    managed.state = phaseOf(state, id, record, { creatable, queued, deleting });
  }
  if (state.holdUntilMs !== undefined && state.holdUntilMs <= nowMs) delete state.holdUntilMs;
  if (state.throttledUntil !== undefined && Date.parse(state.throttledUntil) <= nowMs)
    delete state.throttledUntil;
}

function countInFlightCreates(state: SchedulerState): number {
  return Object.values(state.records).filter((r) => r.inFlight === "create").length;
}

function phaseOf(
  state: SchedulerState,
  id: string,
  record: ConfigurationRecord,
  lines: { creatable: string[]; queued: string[]; deleting: Set<string> },
): ConfigurationPhase {
  if (record.refused !== undefined) return { phase: "Refused", message: record.refused };
  if (record.inFlight === "create") return { phase: "Creating" };
  if (record.inFlight === "delete") return { phase: "Deleting" };
  // vanished from the hub after its content was dropped: it is created again once a pod sends it
  if (!record.onHub && record.configuration === undefined) return { phase: "Creating" };
  if (record.onHub) {
    if (podsOf(state, id).length > 0) return { phase: "OnHub" };
    if (lines.deleting.has(id)) return { phase: "Deleting" };
    const deleteAfterMs = (record.releasedAtMs ?? 0) + state.graceMs;
    return { phase: "Releasing", deleteAfter: new Date(deleteAfterMs).toISOString() };
  }
  const position = lines.creatable.indexOf(id);
  if (position >= 0) return { phase: "WaitingForHubBudget", position: position + 1 };
  if (lines.queued.includes(id))
    return { phase: "HubDeploymentLimit", used: state.deploymentsOnHub, limit: state.deploymentLimit };
  return { phase: "WaitingForHubBudget", position: lines.queued.length + 1 };
}

/** When the applier should next run, if there is any work at all. */
function nextWorkAtMs(state: SchedulerState, nowMs: number): number | undefined {
  const { creatable, retargetable, deletable, nextDeleteDueMs } = assess(state, nowMs);
  const hold = Math.max(nowMs, state.holdUntilMs ?? nowMs);
  if (
    state.inventory === "needed" ||
    creatable.length > 0 ||
    retargetable.length > 0 ||
    deletable.length > 0
  ) {
    refill(state.bucket, state.budget, nowMs);
    return Math.max(hold, nextTokenAtMs(state.bucket, state.budget));
  }
  return nextDeleteDueMs === undefined ? undefined : Math.max(hold, nextDeleteDueMs);
}

/** After a change by a pod: does the applier sleep past the work now due? Then it must be woken. */
function wakeNeeded(state: SchedulerState, nowMs: number): boolean {
  if (state.applier.busy) return false;
  const dueMs = nextWorkAtMs(state, nowMs);
  if (dueMs === undefined) return false;
  const sleepingUntil = state.applier.sleepingUntilMs;
  if (sleepingUntil !== undefined && sleepingUntil <= dueMs) return false;
  // One wake is enough: the woken applier asks for work and sleeps again from there.
  state.applier = { busy: true };
  return true;
}

/** Configurations some pod holds (released ones leave within the grace period). */
function heldConfigurations(state: SchedulerState): PlacedConfiguration[] {
  return Object.entries(state.records).flatMap(([id, record]) => {
    const managed = state.configurations[id];
    if (record.refused !== undefined || managed === undefined || managed.pods.length === 0) return [];
    const names = record.names ?? (record.configuration && configurationNames(record.configuration));
    if (names === undefined) return [];
    const workload = managed.workload;
    return [
      {
        names,
        kind: managed.kind,
        ...(workload !== undefined && { workload }),
      },
    ];
  });
}

/** Operation `want`; a new configuration whose names clash with another workload's is refused at once. */
export function want(state: SchedulerState, request: WantConfiguration, nowMs: number): DemandResult {
  const { configuration, pod } = request;
  const id = configuration.id;
  let record = state.records[id];
  let managed = state.configurations[id];
  if (!record || !managed) {
    const names = configurationNames(configuration);
    const candidate = {
      names,
      kind: request.kind,
      ...(request.workload !== undefined && { workload: request.workload }),
    };
    const conflict = nameConflict(candidate, heldConfigurations(state));
    if (conflict !== undefined) {
      // Never recorded: the pod fails with the reason, nothing reaches the hub.
      const refused = { phase: "Refused" as const, message: conflict.message, reason: conflict.reason };
      return { configurationId: id, state: refused, wakeApplier: false };
    }
    record = { configuration, names, onHub: false, notify: [], releasedBy: [] };
    state.records[id] = record;
    managed = {
      id,
      kind: request.kind,
      targetCondition: configuration.targetCondition,
      priority: configuration.priority,
      modules: request.modules,
      images: imagesOf(request),
      ...(request.workload !== undefined && { workload: request.workload }),
      pods: [],
      state: { phase: "WaitingForHubBudget", position: 0 },
    };
    state.configurations[id] = managed;
    state.createQueue.push(id);
  } else {
    if (!managed.pods.includes(pod)) {
      // Another pod (a replica, or the same workload back within the grace): no hub operation.
      state.counters.coalesced++;
    }
    moveTarget(record, managed, configuration);
  }
  if (!managed.pods.includes(pod)) managed.pods.push(pod);
  delete record.releasedAtMs;
  record.releasedBy = [];
  const landed = record.onHub && record.inFlight === undefined;
  // A pod's content is kept only until the hub has it (it may hold Secret values).
  if (request.retainContent === true) record.retainContent = true;
  if (!landed || record.retainContent === true || record.hubTarget !== undefined)
    record.configuration ??= configuration;
  else delete record.configuration;
  const notifyInstanceId = request.notifyInstanceId;
  if (notifyInstanceId !== undefined) {
    const stored = storedInstanceId(state.hub, pod, notifyInstanceId);
    (record.holders ??= {})[pod] = stored;
    if (
      !landed &&
      record.refused === undefined &&
      !record.notify.some((n) => n.pod === pod && (n.instanceId ?? "") === stored)
    )
      record.notify.push({ pod, ...(stored !== "" && { instanceId: stored }) });
  }
  if (!record.onHub && record.inFlight === undefined && !state.createQueue.includes(id) && !record.refused)
    state.createQueue.push(id);
  refresh(state, nowMs);
  return { configurationId: id, state: managed.state, wakeApplier: wakeNeeded(state, nowMs) };
}

/**
 * A want for the same configuration at another target condition or priority (a rollout's next stage):
 * before the create runs, the create takes the new ones; once the hub has it (or while it is being
 * created), an in-place update is due, carrying the content the want brought.
 */
function moveTarget(
  record: ConfigurationRecord,
  managed: ManagedConfiguration,
  configuration: WantConfiguration["configuration"],
): void {
  const { targetCondition, priority } = configuration;
  if (managed.targetCondition === targetCondition && managed.priority === priority) return;
  if (record.onHub || record.inFlight === "create") {
    record.hubTarget ??= { targetCondition: managed.targetCondition, priority: managed.priority };
  }
  if (
    record.configuration === undefined ||
    record.configuration.targetCondition !== targetCondition ||
    record.configuration.priority !== priority
  )
    record.configuration = configuration;
  managed.targetCondition = targetCondition;
  managed.priority = priority;
  if (
    record.hubTarget?.targetCondition === targetCondition &&
    record.hubTarget.priority === priority &&
    record.inFlight === undefined
  ) {
    // back where the hub is before the update ran: nothing to send
    delete record.hubTarget;
  }
}

function imagesOf(request: WantConfiguration): Record<string, string> {
  const agent = request.configuration.content.modulesContent.$edgeAgent ?? {};
  const images: Record<string, string> = {};
  for (const [path, value] of Object.entries(agent)) {
    // base: properties.desired.modules.<name>; layered: properties.desired.modules.<name> as a path
    const modules =
      path === "properties.desired"
        ? (value as { modules?: Record<string, { settings?: { image?: string } }> }).modules
        : undefined;
    for (const [name, module] of Object.entries(modules ?? {}))
      if (module.settings?.image) images[name] = module.settings.image;
    const layered = /^properties\.desired\.modules\.([^.]+)$/.exec(path);
    const image = (value as { settings?: { image?: string } }).settings?.image;
    if (layered?.[1] && image) images[layered[1]] = image;
  }
  return images;
}

function forget(state: SchedulerState, id: string): void {
  delete state.records[id];
  delete state.configurations[id];
  state.createQueue = state.createQueue.filter((queued) => queued !== id);
}

export function release(state: SchedulerState, request: ReleaseConfiguration, nowMs: number): DemandResult {
  const id = request.configurationId;
  const record = state.records[id];
  const managed = state.configurations[id];
  if (record && managed && managed.pods.includes(request.pod)) {
    managed.pods = managed.pods.filter((pod) => pod !== request.pod);
    record.notify = record.notify.filter((n) => n.pod !== request.pod);
    if (record.holders !== undefined) delete record.holders[request.pod];
    if (!record.releasedBy.includes(request.pod)) record.releasedBy.push(request.pod);
    if (managed.pods.length === 0) {
      if (!record.onHub && record.inFlight === undefined) {
        // Never created: nothing to create, nothing to delete.
        if (record.refused === undefined) state.counters.coalesced++;
        forget(state, id);
      } else {
        record.releasedAtMs = nowMs;
      }
    }
  }
  refresh(state, nowMs);
  const phase = state.configurations[id]?.state;
  return {
    configurationId: id,
    ...(phase !== undefined && { state: phase }),
    wakeApplier: wakeNeeded(state, nowMs),
  };
}

/** Entity operation `next`: the hub operations the applier may run now, within the budget. */
export function nextWork(state: SchedulerState, nowMs: number): ApplierWork {
  // The applier asks only after reporting everything it ran: what is still in flight was lost with an
  // earlier applier (every operation is safe to repeat: create finds its own, delete finds nothing).
  for (const record of Object.values(state.records)) delete record.inFlight;
  if (state.inventory === "inFlight") state.inventory = "needed";
  refresh(state, nowMs);

  const actions: HubAction[] = [];
  if (state.holdUntilMs === undefined) {
    refill(state.bucket, state.budget, nowMs);
    const take = () => {
      if (state.bucket.tokens < 1 || actions.length >= maxActionsPerBatch) return false;
      state.bucket.tokens -= 1;
      return true;
    };
    if (state.inventory === "needed") {
      // Alone: its count must not race with creates and deletes in flight.
      if (take()) {
        actions.push({ kind: "inventory" });
        state.inventory = "inFlight";
      }
    } else {
      const { creatable, retargetable, deletable } = assess(state, nowMs);
      for (const id of creatable) {
        const record = state.records[id];
        if (!record || !take()) break;
        record.inFlight = "create";
        actions.push({ kind: "create", configurationId: id });
      }
      for (const id of retargetable) {
        const record = state.records[id];
        const managed = state.configurations[id];
        if (!record || !managed || !take()) break;
        record.inFlight = "retarget";
        const { targetCondition, priority } = managed;
        actions.push({ kind: "retarget", configurationId: id, targetCondition, priority });
      }
      for (const id of deletable) {
        const record = state.records[id];
        if (!record || !take()) break;
        record.inFlight = "delete";
        actions.push({ kind: "delete", configurationId: id });
      }
    }
  }
  refresh(state, nowMs);
  if (actions.length > 0) {
    state.applier = { busy: true };
    return { actions };
  }
  const wakeAtMs = nextWorkAtMs(state, nowMs);
  // no operation waits: nothing will tell whether the hub is still in trouble, so it is not claimed
  if (wakeAtMs === undefined) delete state.hubTrouble;
  state.applier = { busy: false, ...(wakeAtMs !== undefined && { sleepingUntilMs: wakeAtMs }) };
  return wakeAtMs === undefined ? { actions } : { actions, wakeAt: new Date(wakeAtMs).toISOString() };
}

/** The hub throttles or fails: since the first such answer after the last success, the latest kind. */
function troubled(state: SchedulerState, kind: "Throttled" | "Unavailable", nowMs: number): void {
  state.hubTrouble = { kind, since: state.hubTrouble?.since ?? new Date(nowMs).toISOString() };
}

function holdHub(state: SchedulerState, nowMs: number, retryAfterMs: number | undefined): void {
  const backoffMs = Math.min(backoffMaxMs, backoffBaseMs * 2 ** state.failureStreak);
  state.failureStreak++;
  state.holdUntilMs = Math.max(state.holdUntilMs ?? 0, nowMs + (retryAfterMs ?? backoffMs));
  state.bucket.tokens = Math.min(state.bucket.tokens, 0);
}

function landed(
  state: SchedulerState,
  record: ConfigurationRecord,
  id: string,
  event: ConfigurationReadyEvent["state"],
) {
  const notifications = record.notify.map((n) => ({
    instanceId: instanceIdOf(state.hub, n.pod, n.instanceId),
    event: { configurationId: id, state: event },
  }));
  record.notify = [];
  return notifications;
}

/** Entity operation `report`: outcomes of the operations `next` handed out; says whom to notify. */
export function recordResults(
  state: SchedulerState,
  results: ActionResult[],
  nowMs: number,
): PendingNotification[] {
  const notifications: PendingNotification[] = [];
  for (const result of results) {
    const record = result.kind === "inventory" ? undefined : state.records[result.configurationId];
    if (record) delete record.inFlight;
    if (result.kind === "inventory" && state.inventory === "inFlight") state.inventory = "needed";
    switch (result.outcome) {
      case "done":
        state.failureStreak = 0;
        delete state.lastError;
        delete state.hubTrouble;
        if (result.kind === "inventory")
          notifications.push(...takeInventory(state, result.configurationIds ?? []));
        else if (result.kind === "create") {
          state.counters.creates++;
          state.createQueue = state.createQueue.filter((id) => id !== result.configurationId);
          if (record) {
            record.onHub = true;
            // the hub has it: nothing of a pod's content is kept here (unless an update still needs it)
            if (record.retainContent !== true && record.hubTarget === undefined) delete record.configuration;
            if (podsOf(state, result.configurationId).length === 0) record.releasedAtMs ??= nowMs;
            notifications.push(...landed(state, record, result.configurationId, { phase: "OnHub" }));
          }
        } else if (result.kind === "retarget") {
          state.counters.retargets = (state.counters.retargets ?? 0) + 1;
          if (record) retargeted(state, record, result, true);
        } else {
          state.counters.deletes++;
          if (record) notifications.push(...deleted(state, result.configurationId, record));
        }
        break;
      case "refused":
        if (result.kind === "inventory") break;
        if (result.kind === "retarget") {
          // the hub keeps the target it has; the configuration stays as it was created
          state.lastError = result.message;
          if (record) retargeted(state, record, result, false);
          break;
        }
        state.createQueue = state.createQueue.filter((id) => id !== result.configurationId);
        if (record) {
          record.refused = result.message;
          notifications.push(
            ...landed(state, record, result.configurationId, { phase: "Refused", message: result.message }),
          );
          if (podsOf(state, result.configurationId).length === 0) forget(state, result.configurationId);
        }
        break;
      case "hubFull":
        // Someone else filled the hub since it was last counted: count again, not at once.
        state.inventory = "needed";
        holdHub(state, nowMs, undefined);
        break;
      case "throttled":
        state.counters.throttled++;
        troubled(state, "Throttled", nowMs);
        holdHub(state, nowMs, result.retryAfterMs);
        state.throttledUntil = new Date(state.holdUntilMs ?? nowMs).toISOString();
        break;
      case "failed":
        state.lastError = result.message;
        troubled(state, "Unavailable", nowMs);
        holdHub(state, nowMs, undefined);
        break;
    }
  }
  refresh(state, nowMs);
  return notifications;
}

/** An in-place update ran: done when the hub now holds what is wanted; the content goes unless still needed. */
function retargeted(
  state: SchedulerState,
  record: ConfigurationRecord,
  sent: { configurationId: string; targetCondition: string; priority: number },
  applied: boolean,
): void {
  const managed = state.configurations[sent.configurationId];
  const current =
    managed !== undefined &&
    managed.targetCondition === sent.targetCondition &&
    managed.priority === sent.priority;
  if (current || !applied) delete record.hubTarget;
  else record.hubTarget = { targetCondition: sent.targetCondition, priority: sent.priority };
  if (record.hubTarget === undefined && record.retainContent !== true) delete record.configuration;
}

/** Gone from the hub; if pods still want it, it goes back in line (asking them for its content if needed). */
function deleted(state: SchedulerState, id: string, record: ConfigurationRecord): PendingNotification[] {
  record.onHub = false;
  delete record.hubTarget; // created again with the wanted target
  delete record.releasedAtMs;
  if (podsOf(state, id).length === 0) {
    forget(state, id);
    return [];
  }
  if (!state.createQueue.includes(id)) state.createQueue.push(id);
  if (record.configuration !== undefined) return [];
  // Its content went when the hub took it: the pods holding it send their spec again.
  return Object.entries(record.holders ?? {}).map(([pod, instanceId]) => ({
    instanceId: instanceIdOf(state.hub, pod, instanceId),
    eventName: configurationContentNeededEventName,
    event: { configurationId: id },
  }));
}

/** The hub's list: count what others own, and correct what the scheduler believed of its own. */
function takeInventory(state: SchedulerState, idsOnHub: string[]): PendingNotification[] {
  const notifications: PendingNotification[] = [];
  const onHub = new Set(idsOnHub);
  state.foreignDeployments = idsOnHub.filter((id) => !state.records[id]).length;
  for (const [id, record] of Object.entries(state.records)) {
    if (record.refused !== undefined) continue;
    if (onHub.has(id) && !record.onHub) {
      record.onHub = true;
      state.createQueue = state.createQueue.filter((queued) => queued !== id);
      notifications.push(...landed(state, record, id, { phase: "OnHub" }));
    } else if (!onHub.has(id) && record.onHub) {
      notifications.push(...deleted(state, id, record));
    }
  }
  state.inventory = "known";
  return notifications;
}

/** Entity operation `inventoryNeeded` (e.g. from a reconcile): read the hub's list again before long. */
export function requestInventory(state: SchedulerState, nowMs: number): boolean {
  state.inventory = "needed";
  return wakeNeeded(state, nowMs);
}

/**
 * Entity operation `charge`: configuration operations others sent to the hub came out of the same
 * budget. The bucket may go below zero: the scheduler's next operations wait until it is paid back,
 * instead of meeting the hub's 429.
 */
export function chargeOutsideOperations(
  state: SchedulerState,
  charge: ChargeOperations,
  nowMs: number,
): void {
  refill(state.bucket, state.budget, nowMs);
  state.bucket.tokens -= charge.operations;
  state.counters.charged = (state.counters.charged ?? 0) + charge.operations;
}
