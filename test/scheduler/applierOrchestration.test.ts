// The hub applier orchestration replayed by durable-functions' own replay engine over hand-built
// histories, and its activities' error handling.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { RunningSimulator } from "../../dev/simulator/simulator.js";
import { historyEvents, type HistoryEvent } from "../../dev/host/durable/historyEvents.js";
import {
  applierActivityNames,
  applierRoundsPerEpisode,
  hubApplierOrchestrator,
  notifyActivity,
  runActionActivity,
} from "../../lib/scheduler/applierOrchestration.js";
import {
  applierWakeEventName,
  configurationContentNeededEventName,
  configurationReadyEventName,
  type ActionResult,
  type ApplierWork,
  type HubAction,
  type PendingNotification,
} from "../../lib/scheduler/applierProtocol.js";
import { applierOrchestrationName } from "../../lib/scheduler/applierWake.js";
import { connectorFor } from "../../lib/scheduler/hubOperations.js";
import type { ConfigurationRecord } from "../../lib/scheduler/schedulerState.js";
import { startTestSimulator } from "../support/testSimulator.js";
import { replicaWants } from "./replicaPods.js";
import { entityCalled as entityCalledWith, episode, flat, json, replay, started } from "../support/replay.js";

const hub = "hub1";
const instanceId = `hubApplier-${hub}`;
const run = (history: HistoryEvent[]) =>
  replay(hubApplierOrchestrator, history, { name: applierOrchestrationName, instanceId, input: hub });
const begin = () => started(applierOrchestrationName, instanceId, hub);
const entityCalled = (id: number, op: string, result: unknown) =>
  entityCalledWith(id, "@hubscheduler@hub1", op, result);

const create: HubAction = { kind: "create", configurationId: "cfg-a" };
const remove: HubAction = { kind: "delete", configurationId: "cfg-old" };
const results: ActionResult[] = [
  { kind: "create", configurationId: "cfg-a", outcome: "done" },
  { kind: "delete", configurationId: "cfg-old", outcome: "done" },
];
const notifications: PendingNotification[] = [
  { instanceId: "pod-1", event: { configurationId: "cfg-a", state: { phase: "OnHub" } } },
];

describe("hub applier orchestration", () => {
  it("starts by asking its hub's scheduler entity for work", async () => {
    const actions = flat((await run(begin())).actions);
    expect(actions).toHaveLength(1);
    expect(actions[0]).toMatchObject({ operation: "next", instanceId: "@hubscheduler@hub1" });
  });

  it("runs every action it is handed at once, as activities naming the hub", async () => {
    const work: ApplierWork = { actions: [create, remove] };
    const actions = flat((await run([...begin(), ...entityCalled(0, "next", work)])).actions);
    const runs = actions.filter((action) => action.functionName === applierActivityNames.runAction);
    expect(runs.map((action) => action.input)).toEqual([
      { hub, action: create },
      { hub, action: remove },
    ]);
  });

  it("reports the outcomes to the entity, then tells the waiting orchestrations", async () => {
    const work: ApplierWork = { actions: [create, remove] };
    const afterRuns = [
      ...begin(),
      ...entityCalled(0, "next", work),
      historyEvents.taskScheduled(1, applierActivityNames.runAction, null),
      historyEvents.taskScheduled(2, applierActivityNames.runAction, null),
      ...episode(),
      historyEvents.taskCompleted(1, json(results[0])),
      historyEvents.taskCompleted(2, json(results[1])),
    ];
    const report = flat((await run(afterRuns)).actions).at(-1);
    expect(report).toMatchObject({ operation: "report", input: results });

    const afterReport = [...afterRuns, ...entityCalled(3, "report", notifications)];
    expect(flat((await run(afterReport)).actions).at(-1)).toMatchObject({
      functionName: applierActivityNames.notify,
      input: notifications,
    });
  });

  it("with nothing to do, sleeps until the entity's wake time or a wake event, whichever comes first", async () => {
    const wakeAt = new Date(Date.now() + 45_000).toISOString();
    const state = await run([...begin(), ...entityCalled(0, "next", { actions: [], wakeAt })]);
    const whenAny = state.actions.flat().at(-1);
    expect(whenAny?.compoundActions).toEqual([
      expect.objectContaining({ externalEventName: applierWakeEventName }),
      expect.objectContaining({ fireAt: new Date(wakeAt) }),
    ]);
  });

  it("after a wake event asks for work again", async () => {
    const history = [
      ...begin(),
      ...entityCalled(0, "next", { actions: [] }),
      historyEvents.eventRaised(applierWakeEventName, "null"),
    ];
    const actions = flat((await run(history)).actions);
    expect(actions.filter((action) => action.operation === "next")).toHaveLength(2);
  });

  it(`starts over with its hub after ${applierRoundsPerEpisode} rounds, keeping its history short`, async () => {
    const history = begin();
    for (let round = 0; round < applierRoundsPerEpisode; round++) {
      history.push(...entityCalled(round, "next", { actions: [] }));
      history.push(historyEvents.eventRaised(applierWakeEventName, "null"), ...episode());
    }
    const state = await run(history);
    const last = state.actions.flat().at(-1);
    expect(last).toMatchObject({ actionType: 4, input: json(hub) }); // ContinueAsNew
  });
});

describe("applier activities", () => {
  it("turns a setup problem (a hub without credentials) into a failed outcome for the scheduler", async () => {
    const result = await runActionActivity(
      { hub, action: remove },
      () => {
        throw new Error(`hub "${hub}": no connection string`);
      },
      () => Promise.resolve(undefined),
    );
    expect(result).toEqual({
      kind: "delete",
      configurationId: "cfg-old",
      outcome: "failed",
      message: `hub "${hub}": no connection string`,
    });
  });

  it("reads a create's content from the scheduler's state; content no longer held fails without calling the hub", async () => {
    const stateRead: string[] = [];
    const result = await runActionActivity(
      { hub, action: create },
      () => {
        throw new Error("the hub must not be called");
      },
      (readHub) => {
        stateRead.push(readHub);
        return Promise.resolve({ records: {} });
      },
    );
    expect(stateRead).toEqual([hub]);
    expect(result).toEqual({
      kind: "create",
      configurationId: "cfg-a",
      outcome: "failed",
      message: "the scheduler no longer holds the content of configuration cfg-a",
    });
  });

  it("reads an in-place update's content from the scheduler's state, and sends the target it was handed", async () => {
    const retarget: HubAction = {
      kind: "retarget",
      configurationId: "cfg-a",
      targetCondition: "tags.iotEdgeConnectorRolloutBucket < 40",
      priority: 21,
    };
    const missing = await runActionActivity(
      { hub, action: retarget },
      () => {
        throw new Error("the hub must not be called");
      },
      () => Promise.resolve({ records: {} }),
    );
    expect(missing).toEqual({
      ...retarget,
      outcome: "failed",
      message: "the scheduler no longer holds the content of configuration cfg-a",
    });
  });

  it("raises each notification under its own event name", async () => {
    const raised: string[] = [];
    const client = {
      raiseEvent: (target: string, event: string) => {
        raised.push(`${target}:${event}`);
        return Promise.resolve();
      },
    };
    await notifyActivity(
      [
        ...notifications,
        {
          instanceId: "pod-2",
          eventName: configurationContentNeededEventName,
          event: { configurationId: "cfg-a" },
        },
      ],
      client,
      () => undefined,
    );
    expect(raised).toEqual([
      `pod-1:${configurationReadyEventName}`,
      `pod-2:${configurationContentNeededEventName}`,
    ]);
  });

  it("tells every waiting orchestration, and a gone one does not stop the others", async () => {
    const raised: string[] = [];
    const warnings: string[] = [];
    const client = {
      raiseEvent: (target: string, event: string) => {
        if (target === "gone") return Promise.reject(new Error("404"));
        raised.push(`${target}:${event}`);
        return Promise.resolve();
      },
    };
    await notifyActivity(
      [{ ...notifications[0]!, instanceId: "gone" }, ...notifications],
      client,
      (message) => warnings.push(message),
    );
    expect(raised).toEqual([`pod-1:${configurationReadyEventName}`]);
    expect(warnings).toEqual([expect.stringContaining("gone")]);
  });
});

describe("after a configuration's target changed on the hub", () => {
  let simulator: RunningSimulator;
  let connector: ReturnType<typeof connectorFor>;
  const configuration = {
    ...replicaWants({ name: "staged", image: "contoso/app:2.0" }, 1)[0]!.configuration,
    targetCondition: "tags.iotEdgeConnectorRolloutBucket < 34",
  };
  const state = {
    records: {
      [configuration.id]: { configuration, onHub: false, notify: [], releasedBy: [] } as ConfigurationRecord,
    },
  };

  beforeAll(async () => {
    simulator = await startTestSimulator();
    connector = connectorFor(simulator.iotHubConnectionString);
  });
  afterAll(async () => {
    await simulator?.stop();
  });

  it("tells the status pipeline once the hub created or moved it (no device event may come for a stage that reaches none), never after a delete or a failure", async () => {
    const told: string[] = [];
    const run = (action: HubAction, records = state) =>
      runActionActivity(
        { hub, action },
        () => connector,
        () => Promise.resolve(records),
        (changedHub) => {
          told.push(`${changedHub}:${action.kind}`);
          return Promise.resolve();
        },
      );
    const retarget: HubAction = {
      kind: "retarget",
      configurationId: configuration.id,
      targetCondition: "tags.iotEdgeConnectorRolloutBucket < 67",
      priority: configuration.priority,
    };
    expect(await run({ kind: "create", configurationId: configuration.id })).toMatchObject({
      outcome: "done",
    });
    expect(await run(retarget)).toMatchObject({ outcome: "done" });
    expect(await run(retarget, { records: {} })).toMatchObject({ outcome: "failed" });
    expect(await run({ kind: "delete", configurationId: configuration.id })).toMatchObject({
      outcome: "done",
    });
    expect(told).toEqual([`${hub}:create`, `${hub}:retarget`]);
  });

  it("keeps the hub's outcome when telling the status pipeline fails: the hub holds the change", async () => {
    const result = await runActionActivity(
      { hub, action: { kind: "create", configurationId: configuration.id } },
      () => connector,
      () => Promise.resolve(state),
      () => Promise.reject(new Error("status table unreachable")),
    );
    expect(result).toMatchObject({ outcome: "done" });
  });
});
