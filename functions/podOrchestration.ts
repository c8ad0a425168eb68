// The pod orchestration and its activities, and the hub's base deployment orchestration (logic in
// lib/provider/podOrchestration.ts, podActivities.ts and baseDeployment.ts).
import * as df from "durable-functions";
import { connectorApp } from "../lib/app/connectorApp.js";
import { readSchedulerView } from "../lib/app/durableWorkflows.js";
import {
  baseDeploymentOrchestrationName,
  createBaseDeploymentOrchestrator,
} from "../lib/provider/baseDeployment.js";
import {
  configurationPhaseIn,
  recordPod,
  translatePod,
  type RecordPodInput,
  type TranslatePodInput,
} from "../lib/provider/podActivities.js";
import type { PodIdentity } from "../lib/provider/podIdentity.js";
import {
  createPodOrchestrator,
  podActivityNames,
  podOrchestrationName,
} from "../lib/provider/podOrchestration.js";
import { schedulerCalls } from "../lib/scheduler/schedulerCalls.js";

df.app.orchestration(podOrchestrationName, createPodOrchestrator(schedulerCalls));
df.app.orchestration(baseDeploymentOrchestrationName, createBaseDeploymentOrchestrator(schedulerCalls));

df.app.activity(podActivityNames.translate, {
  handler: (input: TranslatePodInput) => translatePod(input, connectorApp().nodePolicy(input.node)),
});

df.app.activity(podActivityNames.record, {
  handler: (input: RecordPodInput) => recordPod(connectorApp().records, input, new Date()),
});

df.app.activity(podActivityNames.forget, {
  handler: (pod: PodIdentity) => connectorApp().records.remove(pod),
});

df.app.activity(podActivityNames.configurationPhase, {
  extraInputs: [df.input.durableClient()],
  handler: async (input: { hub: string; configurationId: string }, context) =>
    configurationPhaseIn(await readSchedulerView(df.getClient(context), input.hub), input.configurationId),
});
