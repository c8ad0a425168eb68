// The hub's base deployment: its content from the settings, and its orchestration replayed by
// durable-functions' own replay engine over hand-built histories.
import { describe, expect, it } from "vitest";
import { historyEvents } from "../../dev/host/durable/historyEvents.js";
import {
  baseDeployment,
  baseDeploymentOrchestrationName,
  baseDeploymentPodKey,
  createBaseDeploymentOrchestrator,
  heldBaseDeployments,
  type BaseDeploymentInput,
  type BaseDeploymentSettings,
} from "../../lib/provider/baseDeployment.js";
import { podEvents } from "../../lib/provider/podOrchestration.js";
import type { DemandResult } from "../../lib/scheduler/applierProtocol.js";
import { schedulerCalls } from "../../lib/scheduler/schedulerCalls.js";
import { entityCalled as entityCalledWith, flat, json, replay, started } from "../support/replay.js";

const settings: BaseDeploymentSettings = {
  targetCondition: "tags.environment='dev'",
  edgeAgentImage: "mcr.microsoft.com/azureiotedge-agent:1.5",
  edgeHubImage: "mcr.microsoft.com/azureiotedge-hub:1.5",
  registryCredentials: {},
};
const configuration = baseDeployment(settings, "hub1");
const input: BaseDeploymentInput = { hub: "hub1", configuration, replaces: ["base-old", configuration.id] };
const instanceId = "base-deployment-hub1";
const orchestrator = createBaseDeploymentOrchestrator(schedulerCalls);
const run = (history: ReturnType<typeof started>) =>
  replay(orchestrator, history, { name: baseDeploymentOrchestrationName, instanceId, input });
const begin = () => started(baseDeploymentOrchestrationName, instanceId, input);
const entityCalled = (id: number, op: string, result: DemandResult) =>
  entityCalledWith(id, "@hubscheduler@hub1", op, result);
const demand = (phase: "OnHub" | "WaitingForHubBudget"): DemandResult => ({
  configurationId: configuration.id,
  state: phase === "OnHub" ? { phase } : { phase, position: 1 },
  wakeApplier: false,
});

describe("base deployment", () => {
  it("is the runtime only, with the settings' images and target, and a content-addressed id", () => {
    const desired = configuration.content.modulesContent.$edgeAgent!["properties.desired"] as {
      systemModules: { edgeAgent: { settings: { image: string } } };
      modules: object;
    };
    expect(desired.systemModules.edgeAgent.settings.image).toBe(settings.edgeAgentImage);
    expect(desired.modules).toEqual({});
    expect(configuration.targetCondition).toBe(settings.targetCondition);
    expect(baseDeployment({ ...settings, edgeHubImage: "contoso/hub:2" }, "hub1").id).not.toBe(
      configuration.id,
    );
  });

  it("is held at the scheduler by the hub's pseudo pod, which heldBaseDeployments finds", () => {
    const state = {
      configurations: { "base-old": { pods: [baseDeploymentPodKey("hub1")] }, other: { pods: ["a/b"] } },
    };
    expect(heldBaseDeployments(state, "hub1")).toEqual(["base-old"]);
  });
});

describe("base deployment orchestration", () => {
  it("wants the configuration as a base deployment held by the hub's pseudo pod", async () => {
    const want = flat((await run(begin())).actions).find((action) => action.operation === "want");
    expect(want?.input).toMatchObject({
      pod: baseDeploymentPodKey("hub1"),
      kind: "base",
      configuration: { id: configuration.id },
      notifyInstanceId: instanceId,
    });
  });

  it("once it is on the hub, releases the deployments it replaces, not itself", async () => {
    const state = await run([...begin(), ...entityCalled(0, "want", demand("OnHub"))]);
    const releases = flat(state.actions).filter((action) => action.operation === "release");
    expect(releases.map((action) => action.input)).toEqual([
      { pod: baseDeploymentPodKey("hub1"), configurationId: "base-old" },
    ]);
  });

  it("while it waits for the hub, releases nothing and waits for configurationReady", async () => {
    const state = await run([...begin(), ...entityCalled(0, "want", demand("WaitingForHubBudget"))]);
    const actions = flat(state.actions);
    expect(actions.filter((action) => action.operation === "release")).toEqual([]);
    expect(actions.at(-1)).toMatchObject({ externalEventName: podEvents.configurationReady });
  });

  it("a refused base deployment keeps the ones it would have replaced", async () => {
    const state = await run([
      ...begin(),
      ...entityCalled(0, "want", demand("WaitingForHubBudget")),
      historyEvents.eventRaised(
        podEvents.configurationReady,
        json({ configurationId: configuration.id, state: { phase: "Refused", message: "400" } }),
      ),
    ]);
    expect(flat(state.actions).filter((action) => action.operation === "release")).toEqual([]);
    expect(state.isDone).toBe(true);
    expect(state.output).toBe("Refused");
  });
});
