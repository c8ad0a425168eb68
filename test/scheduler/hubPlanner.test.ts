import { describe, expect, it } from "vitest";
import type { ActionOutcome, ActionResult, HubAction } from "../../lib/scheduler/applierProtocol.js";
import { hubBudget } from "../../lib/scheduler/hubBudget.js";
import {
  chargeOutsideOperations,
  nextWork,
  recordResults,
  release,
  requestInventory,
  want,
} from "../../lib/scheduler/hubPlanner.js";
import { newSchedulerState, type SchedulerState } from "../../lib/scheduler/schedulerState.js";
import type { HubSku } from "../../lib/scheduler/hubBudget.js";
import { replicaPod, replicaWants, wantOf } from "./replicaPods.js";
import type { WantConfiguration } from "../../lib/scheduler/schedulerContract.js";
import { podIdentityOfKey, podInstanceId } from "../../lib/provider/podIdentity.js";

const start = Date.parse("2026-11-25T12:00:00.000Z");

/** A scheduler on a virtual clock, with an applier that answers every operation as `answer` says. */
function scheduler(options: { sku?: HubSku; units?: number; graceSeconds?: number; foreign?: number } = {}) {
  let now = start;
  const state: SchedulerState = newSchedulerState(
    {
      hub: "hub-a",
      budget: hubBudget(options.sku ?? "S1", options.units ?? 1),
      graceSeconds: options.graceSeconds ?? 60,
    },
    now,
  );
  const foreignIds = Array.from({ length: options.foreign ?? 0 }, (_, i) => `someone-elses-${i}`);
  const ran: { atMs: number; action: HubAction }[] = [];
  /** Configurations an operator deleted behind the scheduler's back: the hub's list leaves them out. */
  const vanished = new Set<string>();
  const notified: string[] = [];
  const resultOf = (action: HubAction, outcome: ActionOutcome): ActionResult =>
    action.kind === "inventory"
      ? {
          kind: "inventory",
          ...outcome,
          configurationIds: [...foreignIds, ...onHub().filter((id) => !vanished.has(id))],
        }
      : { ...action, ...outcome };
  const onHub = () =>
    Object.entries(state.records)
      .filter(([, r]) => r.onHub)
      .map(([id]) => id);
  return {
    state,
    ran,
    notified,
    vanished,
    foreignIds,
    get now() {
      return now;
    },
    advance(ms: number) {
      now += ms;
    },
    /** One applier round: ask, run, report. Returns what ran. */
    round(answer: (action: HubAction) => ActionOutcome = () => ({ outcome: "done" })) {
      const work = nextWork(state, now);
      for (const action of work.actions) ran.push({ atMs: now, action });
      const results = work.actions.map((action) => resultOf(action, answer(action)));
      if (results.length > 0)
        notified.push(
          ...recordResults(state, results, now).map((n) =>
            "state" in n.event ? `${n.instanceId}:${n.event.state.phase}` : `${n.instanceId}:ContentNeeded`,
          ),
        );
      return work;
    },
    /** Rounds until idle, sleeping to each wake time (bounded). */
    settle(answer?: (action: HubAction) => ActionOutcome, maxRounds = 200) {
      for (let round = 0; round < maxRounds; round++) {
        const work = this.round(answer);
        if (work.actions.length > 0) continue;
        if (work.wakeAt === undefined) return;
        now = Math.max(now, Date.parse(work.wakeAt));
      }
      throw new Error("the applier never became idle");
    },
    creates: () => ran.filter((r) => r.action.kind === "create").length,
    deletes: () => ran.filter((r) => r.action.kind === "delete").length,
  };
}

const web = { name: "web", image: "contoso/web:1.0" };

describe("hub scheduler planner", () => {
  it("creates one configuration for the 20 replicas of a Deployment and tells every waiting pod", () => {
    const s = scheduler();
    const wants = replicaWants(web, 20).map((w, i) => ({ ...w, notifyInstanceId: `pod-${i}` }));
    for (const w of wants) want(s.state, w, s.now);
    s.settle();
    const id = wants[0]!.configuration.id;
    expect(s.creates()).toBe(1);
    expect(s.state.configurations[id]?.pods).toHaveLength(20);
    expect(s.state.configurations[id]?.state).toEqual({ phase: "OnHub" });
    expect(s.state.counters).toMatchObject({ creates: 1, deletes: 0, coalesced: 19 });
    expect(s.notified).toHaveLength(20);
    expect(s.notified).toContain("pod-7:OnHub");
  });

  it("reads the hub's list once before its first create, to count deployments it does not own", () => {
    const s = scheduler({ foreign: 3 });
    want(s.state, replicaWants(web, 1)[0]!, s.now);
    s.settle();
    expect(s.ran.map((r) => r.action.kind)).toEqual(["inventory", "create"]);
    expect(s.state.deploymentsOnHub).toBe(4);
  });

  it("answers a pod that wants a configuration already on the hub with OnHub and does not notify it", () => {
    const s = scheduler();
    const [first, second] = replicaWants(web, 2);
    want(s.state, first!, s.now);
    s.settle();
    const result = want(s.state, { ...second!, notifyInstanceId: "late-pod" }, s.now);
    expect(result.state).toEqual({ phase: "OnHub" });
    expect(s.state.records[result.configurationId]?.notify).toEqual([]);
  });

  it("spends 20 operations a minute per unit: a burst of 20, then one every 3 s on S1 x 1", () => {
    const s = scheduler();
    for (let i = 0; i < 25; i++)
      want(s.state, replicaWants({ name: `app${i}`, image: "img:1" }, 1)[0]!, s.now);
    s.settle();
    const creates = s.ran.filter((r) => r.action.kind === "create");
    expect(creates).toHaveLength(25);
    // the inventory took one token, so 19 creates go at once and the rest at the sustained rate
    expect(creates.filter((r) => r.atMs === start)).toHaveLength(19);
    expect(creates.at(-1)!.atMs - start).toBe(6 * 3_000);
  });

  it("counts configuration operations others sent to the hub against its budget: 25 charged on S1 x 1 delay its first create by 18 s", () => {
    const s = scheduler();
    chargeOutsideOperations(s.state, { operations: 25 }, s.now);
    want(s.state, replicaWants(web, 1)[0]!, s.now);
    s.settle();
    // 20 tokens, 25 spent elsewhere: 6 more earned at one per 3 s pay for the debt and the inventory, then the create
    expect(s.ran.map((r) => [r.action.kind, r.atMs - start])).toEqual([
      ["inventory", 18_000],
      ["create", 21_000],
    ]);
    expect(s.state.counters.charged).toBe(25);
  });

  it("spends twice as fast with two units", () => {
    const s = scheduler({ units: 2 });
    for (let i = 0; i < 45; i++)
      want(s.state, replicaWants({ name: `app${i}`, image: "img:1" }, 1)[0]!, s.now);
    s.settle();
    const creates = s.ran.filter((r) => r.action.kind === "create");
    expect(creates.filter((r) => r.atMs === start)).toHaveLength(39);
    expect(creates.at(-1)!.atMs - start).toBe(6 * 1_500);
  });

  it("gives waiting configurations their place in line, first wanted first", () => {
    const s = scheduler();
    s.state.bucket.tokens = 0;
    const ids = ["a", "b", "c"].map(
      (name) => want(s.state, replicaWants({ name, image: "img:1" }, 1)[0]!, s.now).configurationId,
    );
    expect(ids.map((id) => s.state.configurations[id]?.state)).toEqual([
      { phase: "WaitingForHubBudget", position: 1 },
      { phase: "WaitingForHubBudget", position: 2 },
      { phase: "WaitingForHubBudget", position: 3 },
    ]);
    const work = s.round();
    expect(work.actions).toEqual([]);
    expect(work.wakeAt).toBe(new Date(start + 3_000).toISOString());
  });

  it("keeps a released configuration through the grace period and deletes it after", () => {
    const s = scheduler({ graceSeconds: 60 });
    const wants = replicaWants(web, 3);
    for (const w of wants) want(s.state, w, s.now);
    s.settle();
    s.advance(1_000);
    for (const w of wants) release(s.state, { pod: w.pod, configurationId: w.configuration.id }, s.now);
    const id = wants[0]!.configuration.id;
    expect(s.state.configurations[id]?.state).toEqual({
      phase: "Releasing",
      deleteAfter: new Date(start + 61_000).toISOString(),
    });
    const work = s.round();
    expect(work).toEqual({ actions: [], wakeAt: new Date(start + 61_000).toISOString() });
    s.settle();
    expect(s.ran.filter((r) => r.action.kind === "delete").map((r) => r.atMs)).toEqual([start + 61_000]);
    expect(s.state.configurations[id]).toBeUndefined();
    expect(s.state.counters.deletes).toBe(1);
  });

  it("coalesces release then want within the grace into nothing: no delete, no create", () => {
    const s = scheduler({ graceSeconds: 60 });
    const wants = replicaWants(web, 2);
    for (const w of wants) want(s.state, w, s.now);
    s.settle();
    for (const w of wants) release(s.state, { pod: w.pod, configurationId: w.configuration.id }, s.now);
    s.advance(30_000);
    const again = replicaWants(web, 2).map((w, i) => ({ ...w, pod: `default/web-new-${i}/uid-${i}` }));
    for (const w of again) want(s.state, w, s.now);
    s.advance(120_000);
    s.settle();
    expect([s.creates(), s.deletes()]).toEqual([1, 0]);
    expect(s.state.configurations[wants[0]!.configuration.id]?.state).toEqual({ phase: "OnHub" });
    expect(s.state.counters.coalesced).toBe(3);
  });

  it("does nothing on the hub for a configuration released before it was created", () => {
    const s = scheduler();
    s.state.bucket.tokens = 0;
    const [w] = replicaWants(web, 1);
    want(s.state, w!, s.now);
    release(s.state, { pod: w!.pod, configurationId: w!.configuration.id }, s.now);
    s.settle();
    expect(s.ran.filter((r) => r.action.kind !== "inventory")).toEqual([]);
    expect(s.state.configurations).toEqual({});
    expect(s.state.counters.coalesced).toBe(1);
  });

  it("creates a pod's new configuration before deleting the one it replaces", () => {
    const s = scheduler({ graceSeconds: 0 });
    const pod = replicaPod(web, 0);
    const old = wantOf(pod, "hub-a");
    want(s.state, old, s.now);
    s.settle();
    // the same pod with a new image: new configuration wanted first, the old released at once
    const changed = wantOf(
      { ...pod, spec: { containers: [{ name: "sensor", image: "contoso/web:2.0" }] } },
      "hub-a",
    );
    expect(changed.configuration.id).not.toBe(old.configuration.id);
    s.state.bucket.tokens = 1; // room for one operation now
    want(s.state, changed, s.now);
    release(s.state, { pod: old.pod, configurationId: old.configuration.id }, s.now);
    const first = s.round();
    expect(first.actions.map((a) => a.kind)).toEqual(["create"]);
    s.settle();
    const order = s.ran.slice(-2).map((r) => r.action.kind);
    expect(order).toEqual(["create", "delete"]);
  });

  it("says HubDeploymentLimit when the hub is full, and goes ahead when a configuration is released", () => {
    const s = scheduler({ sku: "F1", foreign: 8, graceSeconds: 60 });
    const ids = ["a", "b", "c"].map((name) => {
      const w = replicaWants({ name, image: "img:1" }, 1)[0]!;
      return { w, id: want(s.state, { ...w, notifyInstanceId: `orch-${name}` }, s.now).configurationId };
    });
    s.settle();
    expect(s.state.configurations[ids[2]!.id]?.state).toEqual({
      phase: "HubDeploymentLimit",
      used: 10,
      limit: 10,
    });
    expect(s.creates()).toBe(2);
    s.advance(5_000);
    release(s.state, { pod: ids[0]!.w.pod, configurationId: ids[0]!.id }, s.now);
    s.settle();
    // the released one is deleted at once (a create waits for its slot), then the waiting one lands
    expect(s.ran.slice(-2).map((r) => r.action.kind)).toEqual(["delete", "create"]);
    expect(s.state.configurations[ids[2]!.id]?.state).toEqual({ phase: "OnHub" });
    expect(s.notified).toContain("orch-c:OnHub");
  });

  it("backs off as a whole hub on 429, for as long as the hub's retry hint says", () => {
    const s = scheduler();
    for (const name of ["a", "b"]) want(s.state, replicaWants({ name, image: "img:1" }, 1)[0]!, s.now);
    s.round(); // inventory
    s.round(() => ({ outcome: "throttled", retryAfterMs: 7_000 }));
    expect(s.state.throttledUntil).toBe(new Date(start + 7_000).toISOString());
    expect(s.state.counters.throttled).toBe(2);
    expect(s.round()).toEqual({ actions: [], wakeAt: new Date(start + 7_000).toISOString() });
    s.settle();
    expect(s.creates()).toBe(4);
    expect(s.ran.slice(-2).every((r) => r.atMs >= start + 7_000)).toBe(true);
    expect(s.state.throttledUntil).toBeUndefined();
  });

  it("says since when the hub throttles or fails its operations, the latest kind of trouble first, until one succeeds", () => {
    const s = scheduler();
    want(s.state, replicaWants(web, 1)[0]!, s.now);
    s.round(); // inventory
    s.round(() => ({ outcome: "throttled", retryAfterMs: 1_000 }));
    const since = new Date(start).toISOString();
    expect(s.state.hubTrouble).toEqual({ kind: "Throttled", since });
    s.advance(3_000); // the hint, and a token earned again
    s.round(() => ({ outcome: "failed", message: "503 Service Unavailable" }));
    expect(s.state.hubTrouble).toEqual({ kind: "Unavailable", since });
    s.advance(60_000);
    s.round();
    expect(s.state.hubTrouble).toBeUndefined();
  });

  it("forgets the hub's trouble when no operation waits any more (nothing left to learn it from)", () => {
    const s = scheduler();
    const first = replicaWants(web, 1)[0]!;
    const { configurationId } = want(s.state, first, s.now);
    s.round(); // inventory
    s.round(() => ({ outcome: "throttled", retryAfterMs: 1_000 }));
    release(s.state, { pod: first.pod, configurationId }, s.now);
    s.advance(1_000);
    expect(s.round()).toEqual({ actions: [] });
    expect(s.state.hubTrouble).toBeUndefined();
  });

  it("doubles its wait after each 429 that carries no retry hint", () => {
    const s = scheduler();
    want(s.state, replicaWants(web, 1)[0]!, s.now);
    s.round();
    let throttles = 0;
    s.settle(() => (throttles++ < 3 ? { outcome: "throttled" } : { outcome: "done" }));
    const attempts = s.ran.filter((r) => r.action.kind === "create").map((r) => r.atMs - start);
    // gaps of at least 1 s, 2 s, 4 s, and never sooner than the next budget token (3 s on S1)
    expect(attempts).toEqual([0, 3_000, 6_000, 10_000]);
  });

  it("marks a configuration the hub refuses as Refused with the hub's message and never retries it", () => {
    const s = scheduler();
    const [w] = replicaWants(web, 1);
    want(s.state, { ...w!, notifyInstanceId: "orch" }, s.now);
    s.settle((action) =>
      action.kind === "create"
        ? { outcome: "refused", message: "modules content is invalid" }
        : { outcome: "done" },
    );
    s.advance(600_000);
    s.settle();
    expect(s.creates()).toBe(1);
    expect(s.state.configurations[w!.configuration.id]?.state).toEqual({
      phase: "Refused",
      message: "modules content is invalid",
    });
    expect(s.notified).toEqual(["orch:Refused"]);
  });

  it("asks to wake the applier only when it sleeps past new work", () => {
    const s = scheduler({ graceSeconds: 60 });
    const [a, b] = replicaWants(web, 2);
    expect(want(s.state, a!, s.now).wakeApplier).toBe(true);
    expect(want(s.state, b!, s.now).wakeApplier).toBe(false); // already woken
    s.settle();
    expect(release(s.state, { pod: a!.pod, configurationId: a!.configuration.id }, s.now).wakeApplier).toBe(
      false,
    );
    expect(release(s.state, { pod: b!.pod, configurationId: b!.configuration.id }, s.now).wakeApplier).toBe(
      true,
    );
    s.round(); // sleeps until the grace ends
    const other = replicaWants({ name: "other", image: "img:1" }, 1)[0]!;
    expect(want(s.state, other, s.now).wakeApplier).toBe(true);
  });

  it("loses nothing to a wake dropped while the applier continued as new: its first ask hands out the work, later wants wake it again", () => {
    const s = scheduler();
    s.settle();
    const [a] = replicaWants(web, 1);
    expect(want(s.state, a!, s.now).wakeApplier).toBe(true); // this wake is lost at continueAsNew
    const other = replicaWants({ name: "other", image: "img:1" }, 1)[0]!;
    expect(want(s.state, other, s.now).wakeApplier).toBe(false); // one wake is out already
    // the new episode starts by asking: both go, no wake needed
    expect(s.round().actions.map((action) => action.kind)).toEqual(["create", "create"]);
    s.settle();
    const third = replicaWants({ name: "third", image: "img:3" }, 1)[0]!;
    expect(want(s.state, third, s.now).wakeApplier).toBe(true);
  });

  it("hands out in one round every create the budget allows, up to a unit's burst: a burst of ten Deployments and the base deployment at once", () => {
    const s = scheduler();
    want(s.state, replicaWants({ name: "first", image: "img:first" }, 1)[0]!, s.now);
    s.settle();
    for (let i = 0; i < 11; i++)
      want(s.state, replicaWants({ name: `app${i}`, image: `img:${i}` }, 1)[0]!, s.now);
    expect(s.round().actions.map((action) => action.kind)).toEqual(
      Array.from({ length: 11 }, () => "create"),
    );
  });

  it("keeps a pod's configuration content only until the hub has it, and hands out creates by id", () => {
    const s = scheduler();
    const [w] = replicaWants(web, 1);
    const id = w!.configuration.id;
    want(s.state, { ...w!, notifyInstanceId: "pod-0" }, s.now);
    expect(s.state.records[id]?.configuration).toEqual(w!.configuration);
    s.settle();
    expect(s.ran.map((r) => r.action)).toEqual([
      { kind: "inventory" },
      { kind: "create", configurationId: id },
    ]);
    expect(s.state.records[id]?.configuration).toBeUndefined();
    expect(JSON.stringify(s.state)).not.toContain(JSON.stringify(w!.configuration.content));
    // another replica wanting it changes nothing: the content is not taken again
    want(s.state, { ...replicaWants(web, 2)[1]!, notifyInstanceId: "pod-1" }, s.now);
    expect(s.state.records[id]?.configuration).toBeUndefined();
  });

  it("asks the pods of a configuration that vanished from the hub for its content, and creates it again from it", () => {
    const s = scheduler();
    const [w] = replicaWants(web, 1);
    const id = w!.configuration.id;
    want(s.state, { ...w!, notifyInstanceId: "pod-0" }, s.now);
    s.settle();
    s.vanished.add(id);
    expect(requestInventory(s.state, s.now)).toBe(true);
    s.settle();
    expect(s.notified).toEqual(["pod-0:OnHub", "pod-0:ContentNeeded"]);
    expect(s.state.configurations[id]?.state).toEqual({ phase: "Creating" });
    // the pod's orchestration translates its spec again and wants it
    s.vanished.delete(id);
    want(s.state, { ...w!, notifyInstanceId: "pod-0" }, s.now);
    s.settle();
    expect(s.ran.map((r) => r.action.kind)).toEqual(["inventory", "create", "inventory", "create"]);
    expect(s.state.configurations[id]?.state).toEqual({ phase: "OnHub" });
    expect(s.state.records[id]?.configuration).toBeUndefined();
  });

  it("keeps a pod's own orchestration out of the state, and still tells it and asks it for content", () => {
    const s = scheduler();
    const wants = replicaWants(web, 3);
    const ownIds = wants.map((w) => podInstanceId({ hub: "hub-a", ...podIdentityOfKey(w.pod)! }));
    wants.forEach((w, i) => want(s.state, { ...w, notifyInstanceId: ownIds[i] }, s.now));
    // another orchestration (the base deployment's) is named in full
    want(s.state, { ...replicaWants(web, 4)[3]!, notifyInstanceId: "hubBaseDeployment-hub-a" }, s.now);
    // a pod that asks again while it waits is told once
    want(s.state, { ...wants[0]!, notifyInstanceId: ownIds[0] }, s.now);
    const waiting = JSON.stringify(s.state);
    for (const id of ownIds) expect(waiting).not.toContain(id);
    expect(waiting).toContain("hubBaseDeployment-hub-a");
    s.settle();
    expect(s.notified).toEqual([...ownIds, "hubBaseDeployment-hub-a"].map((id) => `${id}:OnHub`));
    for (const id of ownIds) expect(JSON.stringify(s.state)).not.toContain(id);

    const configurationId = wants[0]!.configuration.id;
    s.vanished.add(configurationId);
    requestInventory(s.state, s.now);
    s.settle();
    expect(s.notified.filter((n) => n.endsWith(":ContentNeeded")).sort()).toEqual(
      [...ownIds, "hubBaseDeployment-hub-a"].map((id) => `${id}:ContentNeeded`).sort(),
    );
  });

  it("keeps the content of the app's own base deployment, and creates it again by itself if it vanishes", () => {
    const s = scheduler();
    const [w] = replicaWants(web, 1);
    const id = w!.configuration.id;
    want(s.state, { ...w!, retainContent: true }, s.now);
    s.settle();
    expect(s.state.records[id]?.configuration).toEqual(w!.configuration);
    s.vanished.add(id);
    requestInventory(s.state, s.now);
    s.settle();
    expect(s.ran.map((r) => r.action.kind)).toEqual(["inventory", "create", "inventory", "create"]);
    expect(s.state.configurations[id]?.state).toEqual({ phase: "OnHub" });
  });

  it("refuses a configuration whose module another workload holds on the same devices, and records nothing", () => {
    const s = scheduler();
    const [sensor] = replicaWants({ name: "sensor-a", image: "img:1", container: "sensor" }, 1);
    const [rival] = replicaWants({ name: "sensor-b", image: "img:2", container: "sensor" }, 1);
    want(s.state, sensor!, s.now);
    const refused = want(s.state, rival!, s.now);
    expect(refused.state).toEqual({
      phase: "Refused",
      reason: "ModuleNameConflict",
      message: expect.stringMatching(
        new RegExp(
          `workload default/sensor-a-\\w+ \\(deployment ${sensor!.configuration.id}\\) already defines module "sensor"`,
        ),
      ),
    });
    expect(s.state.configurations[rival!.configuration.id]).toBeUndefined();
    expect(s.state.createQueue).toEqual([sensor!.configuration.id]);
    // a released configuration no longer holds the name (it leaves within the grace)
    release(s.state, { pod: sensor!.pod, configurationId: sensor!.configuration.id }, s.now);
    expect(want(s.state, rival!, s.now).state?.phase).not.toBe("Refused");
  });
});

describe("hub scheduler planner: a configuration moved in place (staged rollouts)", () => {
  /** The same configuration (same id, same content) at another target condition and priority. */
  function staged(base: WantConfiguration, targetCondition: string, priority: number): WantConfiguration {
    return { ...base, configuration: { ...base.configuration, targetCondition, priority } };
  }
  const retargets = (s: ReturnType<typeof scheduler>) => s.ran.filter((r) => r.action.kind === "retarget");

  it("moves a configuration on the hub to a new target condition and priority with one operation", () => {
    const s = scheduler();
    const [first] = replicaWants(web, 1);
    want(s.state, first!, s.now);
    s.settle();
    const id = first!.configuration.id;
    const stage = staged(first!, "(tags.environment='dev') AND tags.iotEdgeConnectorRolloutBucket < 20", 21);
    expect(want(s.state, stage, s.now).wakeApplier).toBe(true);
    expect(s.state.configurations[id]).toMatchObject({
      targetCondition: stage.configuration.targetCondition,
      priority: 21,
    });
    s.settle();
    expect(retargets(s).map((r) => r.action)).toEqual([
      {
        kind: "retarget",
        configurationId: id,
        targetCondition: stage.configuration.targetCondition,
        priority: 21,
      },
    ]);
    expect(s.creates()).toBe(1);
    expect(s.deletes()).toBe(0);
    expect(s.state.counters.retargets).toBe(1);
    expect(s.state.configurations[id]?.state).toEqual({ phase: "OnHub" });
    // the content travelled with the update and is not kept once the hub has it
    expect(s.state.records[id]?.configuration).toBeUndefined();
    // the same stage again costs nothing
    want(s.state, stage, s.now);
    s.settle();
    expect(retargets(s)).toHaveLength(1);
  });

  it("keeps the content only until the update is on the hub, and sends the update after a throttle", () => {
    const s = scheduler();
    const [first] = replicaWants(web, 1);
    want(s.state, first!, s.now);
    s.settle();
    const id = first!.configuration.id;
    want(
      s.state,
      staged(first!, "tags.environment='dev' AND tags.iotEdgeConnectorRolloutBucket < 50", 21),
      s.now,
    );
    s.round((action) =>
      action.kind === "retarget" ? { outcome: "throttled", retryAfterMs: 5_000 } : { outcome: "done" },
    );
    expect(s.state.records[id]?.configuration?.targetCondition).toContain("< 50");
    s.settle();
    expect(retargets(s)).toHaveLength(2);
    expect(s.state.records[id]?.configuration).toBeUndefined();
  });

  it("sends only the last of several stages wanted before the update runs", () => {
    const s = scheduler();
    const [first] = replicaWants(web, 1);
    want(s.state, first!, s.now);
    s.settle();
    s.state.bucket.tokens = 0; // the budget is spent: the stages pile up
    for (const percent of [10, 20, 30])
      want(s.state, staged(first!, `tags.iotEdgeConnectorRolloutBucket < ${percent}`, 21), s.now);
    s.settle();
    expect(retargets(s).map((r) => (r.action as { targetCondition: string }).targetCondition)).toEqual([
      "tags.iotEdgeConnectorRolloutBucket < 30",
    ]);
  });

  it("puts a target change that comes before the create into the create: no extra operation", () => {
    const s = scheduler();
    const [first] = replicaWants(web, 1);
    want(s.state, first!, s.now);
    const stage = staged(first!, "tags.iotEdgeConnectorRolloutBucket < 10", 21);
    want(s.state, stage, s.now);
    expect(s.state.records[first!.configuration.id]?.configuration?.targetCondition).toBe(
      stage.configuration.targetCondition,
    );
    s.settle();
    expect(s.creates()).toBe(1);
    expect(retargets(s)).toHaveLength(0);
  });

  it("sends a target change that comes while the create runs once the create is done", () => {
    const s = scheduler();
    const [first] = replicaWants(web, 1);
    want(s.state, first!, s.now);
    const work = nextWork(s.state, s.now); // the inventory
    recordResults(s.state, [{ kind: "inventory", outcome: "done", configurationIds: [] }], s.now);
    const create = nextWork(s.state, s.now);
    expect(create.actions).toEqual([{ kind: "create", configurationId: first!.configuration.id }]);
    want(s.state, staged(first!, "tags.iotEdgeConnectorRolloutBucket < 10", 21), s.now);
    recordResults(
      s.state,
      [{ kind: "create", configurationId: first!.configuration.id, outcome: "done" }],
      s.now,
    );
    expect(work.actions).toEqual([{ kind: "inventory" }]);
    s.settle();
    expect(retargets(s)).toHaveLength(1);
    expect(s.state.records[first!.configuration.id]?.configuration).toBeUndefined();
  });

  it("does not move a configuration no pod holds any more", () => {
    const s = scheduler();
    const [first] = replicaWants(web, 1);
    want(s.state, first!, s.now);
    s.settle();
    s.state.bucket.tokens = 0;
    want(s.state, staged(first!, "tags.iotEdgeConnectorRolloutBucket < 10", 21), s.now);
    release(s.state, { pod: first!.pod, configurationId: first!.configuration.id }, s.now);
    s.settle();
    expect(retargets(s)).toHaveLength(0);
    expect(s.deletes()).toBe(1);
  });
});
