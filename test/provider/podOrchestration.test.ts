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
import type { PodSpecInput } from "../../lib/provider/podActivities.js";
import type { DemandResult } from "../../lib/scheduler/applierProtocol.js";
import { schedulerCalls } from "../../lib/scheduler/schedulerCalls.js";
import type { TranslatePodResult } from "../../lib/provider/podActivities.js";
import { podFixture } from "./providerFixtures.js";

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
const translated = (): HistoryEvent[] => [
  historyEvents.taskScheduled(0, podActivityNames.translate, null),
  ...episode(),
  historyEvents.taskCompleted(0, json(accepted)),
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

describe("pod orchestration", () => {
  it("starts by translating the pod, with retry options", async () => {
    const state = await replay(started());
    const [first] = flat(state.actions);
    expect(first).toMatchObject({ functionName: podActivityNames.translate, actionType: 1 });
    expect(first?.input).toMatchObject({ hub: "hub1" });
  });

  it("records a refused pod with its problems and asks the scheduler for nothing", async () => {
    const refused: TranslatePodResult = {
      accepted: false,
      problems: [{ field: "spec.initContainers", reason: "IoT Edge has no init containers" }],
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
      input: { lifecycle: { stage: "Refused", problems: refused.problems } },
    });
    expect(actions.filter((action) => action.operation !== undefined)).toEqual([]);
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

  it("ignores a configurationReady event for another configuration", async () => {
    const state = await replay([
      ...submitted(),
      historyEvents.eventRaised(podEvents.configurationReady, json({ configurationId: "cfg-old" })),
    ]);
    const records = flat(state.actions).filter((action) => action.functionName === podActivityNames.record);
    expect(records).toHaveLength(1);
  });

  it("on an update lets go of the old configuration only after the new one is recorded on the hub", async () => {
    const updating: PodOrchestrationInput = { ...input, deployedConfigurationId: "cfg-old" };
    const onHub: DemandResult = { configurationId: "cfg-new", state: { phase: "OnHub" }, wakeApplier: false };
    const upToWant = [...started(updating), ...translated(), ...entityCalled(1, "want", onHub)];
    const beforeRecord = await replay(upToWant, updating);
    expect(flat(beforeRecord.actions).filter((action) => action.operation?.startsWith("release"))).toEqual(
      [],
    );

    const afterRecord = await replay(
      [
        ...upToWant,
        historyEvents.taskScheduled(2, podActivityNames.record, null),
        ...episode(),
        historyEvents.taskCompleted(2, json(3)),
      ],
      updating,
    );
    const release = flat(afterRecord.actions).filter((action) => action.operation?.startsWith("release"));
    // everything but the new one: the old configuration, and whatever an earlier run may have wanted
    expect(release.map((action) => [action.operation, action.input])).toEqual([
      ["releasePod", { pod: podKey(pod), keep: "cfg-new" }],
    ]);
  });

  it("records the configuration it is deployed by: the old one until the new one is on the hub", async () => {
    const updating: PodOrchestrationInput = { ...input, deployedConfigurationId: "cfg-old" };
    const state = await replay(
      [...started(updating), ...translated(), ...entityCalled(1, "want", waiting)],
      updating,
    );
    expect(flat(state.actions).at(-1)).toMatchObject({
      functionName: podActivityNames.record,
      input: { configurationId: "cfg-old", lifecycle: { stage: "Scheduled", configurationId: "cfg-new" } },
    });
  });

  it("a delete while waiting records Deleting, then lets go of everything the pod holds", async () => {
    const deleting = await replay([...submitted(), historyEvents.eventRaised(podEvents.deleted, json({}))]);
    expect(flat(deleting.actions).at(-1)).toMatchObject({
      functionName: podActivityNames.record,
      input: { lifecycle: { stage: "Deleting" } },
    });
    const released = await replay([
      ...submitted(),
      historyEvents.eventRaised(podEvents.deleted, json({})),
      historyEvents.taskScheduled(4, podActivityNames.record, null),
      ...episode(),
      historyEvents.taskCompleted(4, json(3)),
    ]);
    expect(flat(released.actions).at(-1)).toMatchObject({
      operation: "releasePod",
      input: { pod: podKey(pod) },
    });
  });

  it("after letting go on delete, forgets the pod", async () => {
    const released = { released: ["cfg-new"], held: [], wakeApplier: false };
    const state = await replay([
      ...submitted(),
      historyEvents.eventRaised(podEvents.deleted, json({})),
      historyEvents.taskScheduled(4, podActivityNames.record, null),
      ...episode(),
      historyEvents.taskCompleted(4, json(3)),
      ...entityCalledWith(5, "@hubscheduler@hub1", "releasePod", released),
    ]);
    expect(flat(state.actions).at(-1)).toMatchObject({ functionName: podActivityNames.forget });
  });

  it("a pod evicted (deleted with retain) hands what it holds to a hold for its owner", async () => {
    const owned: PodOrchestrationInput = {
      ...input,
      spec: {
        ...input.spec,
        pod: {
          ...podFixture(),
          metadata: {
            ...podFixture().metadata,
            ownerReferences: [
              {
                apiVersion: "apps/v1",
                kind: "ReplicaSet",
                name: "sensor-7d4",
                uid: "rs-1",
                controller: true,
              },
            ],
          },
        },
      },
    };
    const want = flat((await replay([...started(owned), ...translated()], owned)).actions).find(
      (action) => action.operation === "want",
    );
    expect(want?.input).toMatchObject({ owner: "default/ReplicaSet/sensor-7d4/rs-1" });
    const state = await replay(
      [
        ...submitted(owned),
        historyEvents.eventRaised(podEvents.deleted, json({ retain: true })),
        historyEvents.taskScheduled(4, podActivityNames.record, null),
        ...episode(),
        historyEvents.taskCompleted(4, json(3)),
      ],
      owned,
    );
    expect(flat(state.actions).at(-1)).toMatchObject({
      operation: "releasePod",
      input: { pod: podKey(pod), holdAs: "hold/edge-node/default/ReplicaSet/sensor-7d4/rs-1" },
    });
  });

  it("started only to delete (its earlier run failed), lets go of everything the pod held without translating", async () => {
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
      operation: "releasePod",
      input: { pod: podKey(pod) },
    });
  });

  describe("external events are not lost", () => {
    const polls = podOrchestrationTiming.pollsPerExecution;
    afterEach(() => {
      podOrchestrationTiming.pollsPerExecution = polls;
    });
    const newSpec: PodSpecInput = { ...input.spec, specHash: "h2", pod: podFixture({ image: "sensor:2" }) };
    /** The last poll: its timer fired, and podChanged came while the phase was being read. */
    const lastPoll = (): HistoryEvent[] => [
      ...submitted(),
      historyEvents.timerFired(3, new Date().toISOString()),
      historyEvents.taskScheduled(4, podActivityNames.configurationPhase, null),
      ...episode(),
      historyEvents.eventRaised(podEvents.changed, json(newSpec)),
      historyEvents.taskCompleted(4, json({ phase: "WaitingForHubBudget", position: 2 })),
    ];

    it("a podChanged raised during the last poll is carried into the next execution", async () => {
      podOrchestrationTiming.pollsPerExecution = 1;
      const beforeContinuing = flat((await replay(lastPoll())).actions);
      // it looks for more events before it continues: a timer for now
      const check = beforeContinuing.at(-1);
      expect(check?.fireAt).toBeDefined();
      const state = await replay([
        ...lastPoll(),
        historyEvents.timerCreated(5, new Date().toISOString()),
        ...episode(),
        historyEvents.timerFired(5, new Date().toISOString()),
      ]);
      const continued = flat(state.actions).at(-1);
      expect(continued?.actionType).toBe(4); // ContinueAsNew
      expect(continued?.input).toMatchObject({ spec: { specHash: "h2" } });
    });

    it("a podDeleted raised during the last poll deletes instead of continuing", async () => {
      podOrchestrationTiming.pollsPerExecution = 1;
      const history = [
        ...submitted(),
        historyEvents.timerFired(3, new Date().toISOString()),
        historyEvents.taskScheduled(4, podActivityNames.configurationPhase, null),
        ...episode(),
        historyEvents.eventRaised(podEvents.deleted, json({})),
        historyEvents.taskCompleted(4, json({ phase: "WaitingForHubBudget", position: 2 })),
      ];
      expect(flat((await replay(history)).actions).at(-1)).toMatchObject({
        functionName: podActivityNames.record,
        input: { lifecycle: { stage: "Deleting" } },
      });
    });

    it("a podChanged that came while another wait won is still handled at the next wait", async () => {
      const onHub: DemandResult = {
        configurationId: "cfg-new",
        state: { phase: "OnHub" },
        wakeApplier: false,
      };
      // the configuration landed while the poll waited; the change arrived while the phase was recorded
      const history = [
        ...submitted(),
        historyEvents.eventRaised(
          podEvents.configurationReady,
          json({ configurationId: "cfg-new", state: onHub.state }),
        ),
        historyEvents.taskScheduled(4, podActivityNames.record, null),
        ...episode(),
        historyEvents.eventRaised(podEvents.changed, json(newSpec)),
        historyEvents.taskCompleted(4, json(3)),
      ];
      const actions = flat((await replay(history)).actions);
      // no new wait for a change that already came: it looks for more (a timer for now) before continuing
      expect(actions.at(-1)?.fireAt).toBeDefined();
    });
  });
});
