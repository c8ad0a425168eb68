// The pod orchestration and its activities, and the hub's base deployment orchestration (logic in lib/provider/podOrchestration.ts and podActivities.ts).
import * as df from "durable-functions";
import {
  baseDeploymentOrchestrationName,
  createBaseDeploymentOrchestrator,
} from "../lib/provider/baseDeployment.js";
import { appContext } from "../lib/app/appContext.js";
import { durableWorkflows } from "../lib/app/durableWorkflows.js";
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
import { releaseConfiguration, wantConfiguration } from "./hubSchedulerCalls.js";

const schedulerCalls = { want: wantConfiguration, release: releaseConfiguration };

df.app.orchestration(podOrchestrationName, createPodOrchestrator(schedulerCalls));
df.app.orchestration(baseDeploymentOrchestrationName, createBaseDeploymentOrchestrator(schedulerCalls));

df.app.activity(podActivityNames.translate, {
  handler: (input: TranslatePodInput) => translatePod(input),
});

df.app.activity(podActivityNames.record, {
  handler: (input: RecordPodInput) => recordPod(appContext().records, input, new Date()),
});

df.app.activity(podActivityNames.forget, {
  handler: (pod: PodIdentity) => appContext().records.remove(pod),
});

df.app.activity(podActivityNames.configurationPhase, {
  extraInputs: [df.input.durableClient()],
  handler: async (input: { hub: string; configurationId: string }, context) => {
    const state = await durableWorkflows(df.getClient(context)).schedulerState(input.hub);
    return configurationPhaseIn(state, input.configurationId);
  },
});
