// The pod orchestrator replayed by durable-functions' own replay engine over hand-built Durable
// Task histories, as the Durable extension would pass them after each step (or after a crash).
import { afterEach, describe, expect, it } from "vitest";
import { historyEvents, type HistoryEvent } from "../../dev/host/durable/historyEvents.js";
import {
  entityCalled as entityCalledWith,
  episode,
  flat,
  json,
  replay as replayWith,
  started as startedWith,
} from "../support/replay.js";
import { podKey } from "../../lib/provider/podIdentity.js";
import {
  podActivityNames,
  podEvents,
  podOrchestrationName,
  podOrchestrationTiming,
  createPodOrchestrator,
  type PodOrchestrationInput,
} from "../../lib/provider/podOrchestration.js";
import type { DemandResult } from "../../lib/scheduler/applierProtocol.js";
import { schedulerCalls } from "../../lib/scheduler/schedulerCalls.js";
import type { TranslatePodResult } from "../../lib/provider/podActivities.js";
import { podFixture } from "./providerFixtures.js";
import { refusedLifecycle, scheduledLifecycle } from "../../lib/provider/podLifecycles.js";
import type { ConfigurationPhase } from "../../lib/scheduler/schedulerContract.js";

const instanceId = "pod-hub1-default-sensor-abc";
const pod = { hub: "hub1", namespace: "default", name: "sensor", uid: "uid-1" };
const input: PodOrchestrationInput = {
  pod,
  spec: { node: "edge-node", pod: podFixture(), resolved: { configMaps: {}, secrets: {} }, specHash: "h1" },
};
const accepted: TranslatePodResult = {
  accepted: true,
  want: {
    configuration: {
      id: "cfg-new",
      schemaVersion: "1.0",
      labels: {},
      content: { modulesContent: {} },
      targetCondition: "tags.environment='dev'",
      priority: 20,
      metrics: { queries: {} },
    },
    kind: "layered",
    modules: { sensor: "sensor" },
  },
  warnings: [],
};

const orchestrator = createPodOrchestrator(schedulerCalls);
const replay = (history: HistoryEvent[], orchestrationInput: PodOrchestrationInput = input) =>
  replayWith(orchestrator, history, { name: podOrchestrationName, instanceId, input: orchestrationInput });
const started = (orchestrationInput: PodOrchestrationInput = input) =>
  startedWith(podOrchestrationName, instanceId, orchestrationInput);
const entityCalled = (id: number, op: string, result: DemandResult) =>
  entityCalledWith(id, "@hubscheduler@hub1", op, result);

const waiting: DemandResult = {
  configurationId: "cfg-new",
  state: { phase: "WaitingForHubBudget", position: 2 },
  wakeApplier: false,
};
const translated = (result: TranslatePodResult = accepted): HistoryEvent[] => [
  historyEvents.taskScheduled(0, podActivityNames.translate, null),
  ...episode(),
  historyEvents.taskCompleted(0, json(result)),
];

/** History up to the first poll: translate (0), want (1) answered `demand`, record (2), timer (3). */
function submitted(orchestrationInput: PodOrchestrationInput = input, demand = waiting): HistoryEvent[] {
  return [
    ...started(orchestrationInput),
    ...translated(),
    ...entityCalled(1, "want", demand),
    historyEvents.taskScheduled(2, podActivityNames.record, null),
    ...episode(),
    historyEvents.taskCompleted(2, json(2)),
    historyEvents.timerCreated(3, new Date(Date.now() + 30_000).toISOString()),
    ...episode(),
  ];
}

const CREATE_TIMER = 5;
const WAIT_FOR_EVENT = 6;
const CALL_ENTITY = 7;
const SIGNAL_ENTITY = 9;
const CONTINUE_AS_NEW = 4;
const onHub: DemandResult = { configurationId: "cfg-new", state: { phase: "OnHub" }, wakeApplier: false };

/** History of a pod whose configuration is on the hub, waiting for a change: translate (0), want (1), record (2). */
function onHubAndWaiting(): HistoryEvent[] {
  return [
    ...started(),
    ...translated(),
    ...entityCalled(1, "want", onHub),
    historyEvents.taskScheduled(2, podActivityNames.record, null),
    ...episode(),
    historyEvents.taskCompleted(2, json(2)),
  ];
}

/** The timer due now that ends the search for pending events fires: nothing else arrived. */
const nothingPending = (timerId: number): HistoryEvent[] => {
  const fireAt = new Date().toISOString();
  return [
    historyEvents.timerCreated(timerId, fireAt),
    ...episode(),
    historyEvents.timerFired(timerId, fireAt),
  ];
};

const changedSpec = { ...input.spec, specHash: "h2" };

describe("pod orchestration", () => {
  it("starts by translating the pod, with retry options", async () => {
    const state = await replay(started());
    const [first] = flat(state.actions);
    expect(first).toMatchObject({ functionName: podActivityNames.translate, actionType: 1 });
    expect(first?.input).toMatchObject({ hub: "hub1", node: "edge-node" });
  });

  it("records a refused pod with its reason, node and problems and asks the scheduler for nothing", async () => {
    const refused: TranslatePodResult = {
      accepted: false,
      reason: "NamespaceNotAllowed",
      node: "edge-node",
      problems: [{ field: "metadata.namespace", reason: "namespace default may not use node edge-node" }],
    };
    const state = await replay([
      ...started(),
      historyEvents.taskScheduled(0, podActivityNames.translate, null),
      ...episode(),
      historyEvents.taskCompleted(0, json(refused)),
    ]);
    const actions = flat(state.actions);
    expect(actions.at(-1)).toMatchObject({
      functionName: podActivityNames.record,
      input: {
        lifecycle: {
          stage: "Refused",
          reason: "NamespaceNotAllowed",
          node: "edge-node",
          problems: [{ field: "metadata.namespace", reason: "namespace default may not use node edge-node" }],
        },
      },
    });
    expect(actions.filter((action) => action.operation !== undefined)).toEqual([]);
  });

  describe("started with the HTTP API's translation", () => {
    const translatedInput = (result: TranslatePodResult): PodOrchestrationInput => ({
      ...input,
      spec: { ...input.spec, translated: result },
    });

    it("wants its configuration at once, with no translate activity", async () => {
      const given = translatedInput(accepted);
      const actions = flat((await replay(started(given), given)).actions);
      expect(actions.map((action) => action.functionName ?? action.operation)).toEqual(["want"]);
      expect(actions[0]?.input).toMatchObject({ pod: podKey(pod), configuration: { id: "cfg-new" } });
    });

    it("records a refusal with its field and asks the scheduler for nothing", async () => {
      const refused: TranslatePodResult = {
        accepted: false,
        reason: "UnsupportedPod",
        problems: [{ field: "spec.containers[0].ports", reason: "is not supported" }],
      };
      const given = translatedInput(refused);
      const actions = flat((await replay(started(given), given)).actions);
      expect(actions).toHaveLength(1);
      expect(actions[0]).toMatchObject({
        functionName: podActivityNames.record,
        input: { lifecycle: { stage: "Refused", problems: refused.problems } },
      });
    });
  });

  describe("started with what the pod's record already holds", () => {
    const translatedSpec = { ...input.spec, translated: accepted };
    const recordedAs = (phase: ConfigurationPhase): PodOrchestrationInput => ({
      ...input,
      spec: translatedSpec,
      recorded: scheduledLifecycle("cfg-new", phase, translatedSpec, accepted),
    });
    const answered = (given: PodOrchestrationInput, demand: DemandResult) =>
      replay([...started(given), ...entityCalled(0, "want", demand)], given);

    it("a replica whose configuration is on the hub writes nothing after the want: it waits", async () => {
      const state = await answered(recordedAs({ phase: "OnHub" }), onHub);
      const actions = flat(state.actions);
      expect(actions.filter((action) => action.functionName !== undefined)).toEqual([]);
      expect(actions.filter((action) => action.operation !== undefined)).toHaveLength(1);
      expect(state.isDone).toBe(false);
    });

    it("a new replica whose configuration the HTTP API saw on the hub sends its want without waiting for the answer", async () => {
      const given = { ...recordedAs({ phase: "OnHub" }), configurationOnHub: "cfg-new" };
      const state = await replay(started(given), given);
      const actions = flat(state.actions);
      // one signal (no answer, so no second episode), no record, no activity: it waits for a change
      const [sent, ...rest] = actions;
      expect(sent).toMatchObject({ actionType: SIGNAL_ENTITY, operation: "want" });
      expect(sent?.input).toMatchObject({ pod: podKey(pod), notifyInstanceId: instanceId });
      expect(rest.map((action) => [action.actionType, action.externalEventName])).toEqual(
        [podEvents.changed, podEvents.deleted, podEvents.contentNeeded].map((name) => [WAIT_FOR_EVENT, name]),
      );
      expect(state.isDone).toBe(false);
    });

    it("mid-rollout, a replica asks the scheduler and waits for the answer even when the HTTP API saw it on the hub", async () => {
      const rolling = { ...translatedSpec, rollout: { percent: 25 } };
      const given: PodOrchestrationInput = {
        ...input,
        spec: rolling,
        recorded: scheduledLifecycle("cfg-new", { phase: "OnHub" }, rolling, accepted),
        configurationOnHub: "cfg-new",
      };
      const actions = flat((await replay(started(given), given)).actions);
      expect(actions.map((action) => [action.actionType, action.operation])).toEqual([[CALL_ENTITY, "want"]]);
    });

    it("records the want's answer when the record holds another phase, and only the first time it is the same", async () => {
      const state = await answered(recordedAs({ phase: "Creating" }), onHub);
      expect(flat(state.actions).at(-1)).toMatchObject({
        functionName: podActivityNames.record,
        input: { lifecycle: { stage: "Scheduled", configuration: { phase: "OnHub" } } },
      });
    });

    it("a refusal already recorded is not written again", async () => {
      const refused: TranslatePodResult = {
        accepted: false,
        reason: "UnsupportedPod",
        problems: [{ field: "spec.initContainers", reason: "is not supported" }],
      };
      const given: PodOrchestrationInput = {
        ...input,
        spec: { ...input.spec, translated: refused },
        recorded: refusedLifecycle(refused),
      };
      const state = await replay(started(given), given);
      expect(flat(state.actions).filter((action) => action.functionName !== undefined)).toEqual([]);
    });
  });

  it("wants the configuration with the pod key, the node and its own instance to notify", async () => {
    const state = await replay([...started(), ...translated()]);
    const want = flat(state.actions).find((action) => action.operation === "want");
    expect(want?.input).toMatchObject({
      pod: podKey(pod),
      node: "edge-node",
      kind: "layered",
      modules: { sensor: "sensor" },
      notifyInstanceId: instanceId,
      configuration: { id: "cfg-new" },
    });
  });

  it("after a crash between the want and the record, replay records the phase without wanting again", async () => {
    const state = await replay([...started(), ...translated(), ...entityCalled(1, "want", waiting)]);
    const actions = flat(state.actions);
    expect(actions.filter((action) => action.operation === "want")).toHaveLength(1);
    expect(actions.at(-1)).toMatchObject({
      functionName: podActivityNames.record,
      input: {
        lifecycle: {
          stage: "Scheduled",
          configurationId: "cfg-new",
          configuration: { phase: "WaitingForHubBudget", position: 2 },
        },
      },
    });
  });

  it("translates a pod sent mid-rollout at its stage and records the stage for its status", async () => {
    const staged: PodOrchestrationInput = { ...input, spec: { ...input.spec, rollout: { percent: 20 } } };
    const first = flat((await replay(started(staged), staged)).actions)[0];
    expect(first?.input).toMatchObject({ rollout: { percent: 20 } });
    const state = await replay(
      [...started(staged), ...translated(), ...entityCalled(1, "want", waiting)],
      staged,
    );
    expect(flat(state.actions).at(-1)).toMatchObject({
      functionName: podActivityNames.record,
      input: { lifecycle: { stage: "Scheduled", configurationId: "cfg-new", rollout: { percent: 20 } } },
    });
  });

  it("records the staged target condition the translation gave, so its status can tell an evaluated empty stage", async () => {
    const staged: PodOrchestrationInput = { ...input, spec: { ...input.spec, rollout: { percent: 20 } } };
    const stage = {
      percent: 20,
      targetCondition: "(tags.environment='dev') AND tags.iotEdgeConnectorRolloutBucket < 20",
    };
    const state = await replay(
      [...started(staged), ...translated({ ...accepted, stage }), ...entityCalled(1, "want", waiting)],
      staged,
    );
    expect(flat(state.actions).at(-1)).toMatchObject({
      functionName: podActivityNames.record,
      input: { lifecycle: { stage: "Scheduled", rollout: stage } },
    });
  });

  it("records OnHub when the scheduler's configurationReady event arrives", async () => {
    const state = await replay([
      ...submitted(),
      historyEvents.eventRaised(
        podEvents.configurationReady,
        json({ configurationId: "cfg-new", state: { phase: "OnHub" } }),
      ),
    ]);
    expect(flat(state.actions).at(-1)).toMatchObject({
      functionName: podActivityNames.record,
      input: { lifecycle: { stage: "Scheduled", configuration: { phase: "OnHub" } } },
    });
  });

  it("backs off its poll while it waits for its configuration (30 s, doubling, at most 5 min), so a long wait does not crowd the scheduler", async () => {
    const EVENT_ORCHESTRATOR_STARTED = 12;
    const delays: number[] = [];
    let history = submitted();
    for (let timerId = 3; timerId < 3 + 2 * 6; timerId += 2) {
      const timer = flat((await replay(history)).actions).at(-1);
      expect(timer).toMatchObject({ actionType: CREATE_TIMER });
      const episodeStart = history.filter((event) => event.EventType === EVENT_ORCHESTRATOR_STARTED).at(-1);
      const fireAt = timer?.fireAt ?? "";
      delays.push(Math.round((Date.parse(fireAt) - Date.parse(episodeStart?.Timestamp ?? "")) / 1000));
      if (timerId !== 3) history = [...history, historyEvents.timerCreated(timerId, fireAt), ...episode()];
      history = [
        ...history,
        historyEvents.timerFired(timerId, fireAt),
        historyEvents.taskScheduled(timerId + 1, podActivityNames.configurationPhase, null),
        ...episode(),
        historyEvents.taskCompleted(timerId + 1, json(waiting.state)),
      ];
    }
    expect(delays).toEqual([30, 60, 120, 240, 300, 300]);
  });

  it("ignores a configurationReady event for another configuration", async () => {
    const state = await replay([
      ...submitted(),
      historyEvents.eventRaised(podEvents.configurationReady, json({ configurationId: "cfg-old" })),
    ]);
    const records = flat(state.actions).filter((action) => action.functionName === podActivityNames.record);
    expect(records).toHaveLength(1);
  });

  it("on an update releases the old configuration only after the new one is recorded on the hub", async () => {
    const updating: PodOrchestrationInput = { ...input, deployedConfigurationId: "cfg-old" };
    const onHub: DemandResult = { configurationId: "cfg-new", state: { phase: "OnHub" }, wakeApplier: false };
    const upToWant = [...started(updating), ...translated(), ...entityCalled(1, "want", onHub)];
    const beforeRecord = await replay(upToWant, updating);
    expect(flat(beforeRecord.actions).filter((action) => action.operation === "release")).toEqual([]);

    const afterRecord = await replay(
      [
        ...upToWant,
        historyEvents.taskScheduled(2, podActivityNames.record, null),
        ...episode(),
        historyEvents.taskCompleted(2, json(3)),
      ],
      updating,
    );
    const release = flat(afterRecord.actions).filter((action) => action.operation === "release");
    expect(release.map((action) => action.input)).toEqual([{ pod: podKey(pod), configurationId: "cfg-old" }]);
  });

  it("started again after a failed run, releases what that run left held, all but its own configuration, once its own is on the hub", async () => {
    const restarted: PodOrchestrationInput = { ...input, leftoverConfigurationIds: ["cfg-new", "cfg-left"] };
    const upToWant = [...started(restarted), ...translated(), ...entityCalled(1, "want", onHub)];
    const beforeRecord = await replay(upToWant, restarted);
    expect(flat(beforeRecord.actions).filter((action) => action.operation === "release")).toEqual([]);

    const afterRecord = await replay(
      [
        ...upToWant,
        historyEvents.taskScheduled(2, podActivityNames.record, null),
        ...episode(),
        historyEvents.taskCompleted(2, json(3)),
      ],
      restarted,
    );
    const release = flat(afterRecord.actions).filter((action) => action.operation === "release");
    expect(release.map((action) => action.input)).toEqual([
      { pod: podKey(pod), configurationId: "cfg-left" },
    ]);
  });

  it("carries what a failed run left held into its next execution while its configuration waits for the hub", async () => {
    const restarted: PodOrchestrationInput = { ...input, leftoverConfigurationIds: ["cfg-left"] };
    const history = [
      ...submitted(restarted),
      historyEvents.eventRaised(podEvents.changed, json(changedSpec)),
    ];
    const afterRelease = [
      ...history,
      ...entityCalled(4, "release", { configurationId: "cfg-new", wakeApplier: false }),
    ];
    const state = await replay([...afterRelease, ...nothingPending(5)], restarted);
    expect(flat(state.actions).at(-1)).toMatchObject({
      actionType: CONTINUE_AS_NEW,
      input: { spec: changedSpec, leftoverConfigurationIds: ["cfg-left"] },
    });
  });

  it("when its configuration vanished and the scheduler asks for the content, starts over with its spec to want it again", async () => {
    const history = [
      ...onHubAndWaiting(),
      historyEvents.eventRaised(podEvents.contentNeeded, json({ configurationId: "cfg-new" })),
    ];
    const state = await replay(history);
    // first a timer due now: whatever else arrived in the meantime is taken before continuing as new
    expect(flat(state.actions).at(-1)).toMatchObject({ actionType: CREATE_TIMER });
    const continued = await replay([...history, ...nothingPending(3)]);
    const again: PodOrchestrationInput = { pod, spec: input.spec, deployedConfigurationId: "cfg-new" };
    expect(flat(continued.actions).at(-1)).toMatchObject({ actionType: CONTINUE_AS_NEW, input: again });
  });

  it("a delete while waiting first releases the configuration it wanted", async () => {
    const deletedState = await replay([
      ...submitted(),
      historyEvents.eventRaised(podEvents.deleted, json({})),
    ]);
    const actions = flat(deletedState.actions);
    expect(actions.at(-1)?.operation).toBe("release");
    expect(actions.at(-1)?.input).toEqual({ pod: podKey(pod), configurationId: "cfg-new" });
  });

  it("after releasing on delete, records Deleting and then forgets the pod", async () => {
    const released: DemandResult = { configurationId: "cfg-new", wakeApplier: false };
    const history = [
      ...submitted(),
      historyEvents.eventRaised(podEvents.deleted, json({})),
      ...entityCalled(4, "release", released),
    ];
    const recording = flat((await replay(history)).actions).at(-1);
    expect(recording).toMatchObject({
      functionName: podActivityNames.record,
      input: { lifecycle: { stage: "Deleting" } },
    });
    const forgetting = await replay([
      ...history,
      historyEvents.taskScheduled(5, podActivityNames.record, null),
      ...episode(),
      historyEvents.taskCompleted(5, json(4)),
    ]);
    expect(flat(forgetting.actions).at(-1)).toMatchObject({ functionName: podActivityNames.forget });
  });

  it("started only to delete (its earlier run failed), releases what the pod held without translating", async () => {
    const deleting: PodOrchestrationInput = { ...input, deleting: true, deployedConfigurationId: "cfg-old" };
    const first = flat((await replay(started(deleting), deleting)).actions);
    expect(first.map((action) => action.functionName)).toEqual([podActivityNames.record]);
    expect(first[0]?.input).toMatchObject({ lifecycle: { stage: "Deleting" }, configurationId: "cfg-old" });
    const afterRecord = await replay(
      [
        ...started(deleting),
        historyEvents.taskScheduled(0, podActivityNames.record, null),
        ...episode(),
        historyEvents.taskCompleted(0, json(5)),
      ],
      deleting,
    );
    expect(flat(afterRecord.actions).at(-1)).toMatchObject({
      operation: "release",
      input: { pod: podKey(pod), configurationId: "cfg-old" },
    });
  });

  describe("no event is lost at continueAsNew (durable-functions for JavaScript drops those not taken)", () => {
    const polls = podOrchestrationTiming.pollsPerExecution;
    afterEach(() => {
      podOrchestrationTiming.pollsPerExecution = polls;
    });

    it("a delete that arrives with a change ends the pod instead of being dropped by the change's continueAsNew", async () => {
      const history = [
        ...onHubAndWaiting(),
        historyEvents.eventRaised(podEvents.changed, json(changedSpec)),
        historyEvents.eventRaised(podEvents.deleted, json({})),
      ];
      const searching = flat((await replay(history)).actions);
      expect(searching.filter((action) => action.actionType === CONTINUE_AS_NEW)).toEqual([]);
      // the change won, the delete was taken by the search (timer 3), the search goes on (timer 4)
      const state = await replay([
        ...history,
        historyEvents.timerCreated(3, new Date().toISOString()),
        ...nothingPending(4),
      ]);
      const actions = flat(state.actions);
      expect(actions.filter((action) => action.actionType === CONTINUE_AS_NEW)).toEqual([]);
      expect(actions.at(-1)).toMatchObject({
        functionName: podActivityNames.record,
        input: { lifecycle: { stage: "Deleting" }, configurationId: "cfg-new" },
      });
    });

    it("a change that arrives during the last poll is the next execution's input, and the configuration it wanted is released", async () => {
      podOrchestrationTiming.pollsPerExecution = 1;
      const fireAt = new Date().toISOString();
      const history = [
        ...submitted(),
        historyEvents.timerFired(3, fireAt),
        historyEvents.taskScheduled(4, podActivityNames.configurationPhase, null),
        ...episode(),
        // raised while the phase is read: the poll's losing changed-waiter takes it
        historyEvents.eventRaised(podEvents.changed, json(changedSpec)),
        historyEvents.taskCompleted(4, json(waiting.state)),
        ...nothingPending(5),
      ];
      const releasing = flat((await replay(history)).actions).at(-1);
      expect(releasing).toMatchObject({
        operation: "release",
        input: { pod: podKey(pod), configurationId: "cfg-new" },
      });
      const released: DemandResult = { configurationId: "cfg-new", wakeApplier: false };
      const state = await replay([...history, ...entityCalled(6, "release", released)]);
      expect(flat(state.actions).at(-1)).toMatchObject({
        actionType: CONTINUE_AS_NEW,
        input: { pod, spec: changedSpec },
      });
    });

    it("a change taken by a losing waiter while it read the phase is handled by the next wait", async () => {
      const history = [
        ...submitted(),
        historyEvents.timerFired(3, new Date().toISOString()),
        historyEvents.taskScheduled(4, podActivityNames.configurationPhase, null),
        ...episode(),
        historyEvents.eventRaised(podEvents.changed, json(changedSpec)),
        historyEvents.taskCompleted(4, json(waiting.state)),
      ];
      const actions = flat((await replay(history)).actions);
      expect(actions.at(-1)).toMatchObject({ operation: "release", input: { configurationId: "cfg-new" } });
    });
  });
});
