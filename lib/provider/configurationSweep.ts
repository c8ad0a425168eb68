// The sweep: a timer makes each hub, its scheduler and the pods agree, whatever failed on the way
// (docs/outages.md). It compares the connector's configurations on the hub (label managed-by), the
// scheduler's holders and what live pods want (their records):
// - a pod whose orchestration ended early (failed, terminated) is started again from its last input
//   (a pod being deleted: only to release and forget), so it wants its configuration again and lets
//   go of anything an earlier run wanted;
// - a running pod whose configuration the scheduler no longer lists is sent its own spec again;
// - a holder whose pod the app no longer knows, and a base deployment replaced by one on the hub,
//   are released through the scheduler (deleted after the grace period);
// - a configuration of the connector the scheduler does not know and no pod refers to is handed to
//   the scheduler as released (deleted after the grace period);
// - the list call is accounted to the scheduler's budget, and what it found corrects the scheduler's
//   view (a wanted configuration that vanished from the hub is created again).
// Reads go scheduler first, then records, then the hub, so a pod that appears meanwhile is never
// taken for gone.
import type { HubConfiguration } from "../hub/hubClient.js";
import { parseHoldKey } from "../scheduler/ownerHolds.js";
import type { HubSchedulerView, ReleaseConfiguration } from "../scheduler/schedulerContract.js";
import type { EdgeConfiguration } from "../translate/deploymentTypes.js";
import { connectorLabels, managedByValue } from "../translate/podToDeployment.js";
import { baseDeploymentPodKey, baseDeploymentNamespace } from "./baseDeployment.js";
import { podInstanceId, podKey } from "./podIdentity.js";
import { deletingInput, podEvents, type PodOrchestrationInput } from "./podOrchestration.js";
import type { PodRecord } from "./podRecords.js";

/** What the sweep read, in this order. */
export interface SweepInputs {
  hub: string;
  view: HubSchedulerView | undefined;
  /** when the view was read: records written later are newer than it */
  viewReadAt: Date;
  records: readonly PodRecord[];
  /** pod orchestrations that ended early (failed, terminated), by instance id, with their last input */
  ended: ReadonlyMap<string, PodOrchestrationInput>;
  /** every configuration on the hub */
  onHub: readonly HubConfiguration[];
  /** the app's base deployment on this hub, when it owns one */
  baseConfigurationId?: string;
}

export interface SweepPlan {
  restart: { instanceId: string; input: PodOrchestrationInput }[];
  resync: { instanceId: string; record: PodRecord }[];
  release: ReleaseConfiguration[];
  adopt: EdgeConfiguration[];
}

const isConnectors = (configuration: HubConfiguration) =>
  configuration.labels?.[connectorLabels.managedBy] === managedByValue;

/** The configurations a pod's record says it is deployed by or waits for. */
function referenced(record: PodRecord): string[] {
  const ids = record.configurationId ? [record.configurationId] : [];
  if (record.lifecycle.stage === "Scheduled") ids.push(record.lifecycle.configurationId);
  return ids;
}

export function planSweep(inputs: SweepInputs): SweepPlan {
  const { view, records, ended } = inputs;
  const configurations = view?.configurations ?? {};
  const plan: SweepPlan = { restart: [], resync: [], release: [], adopt: [] };
  const known = new Set(records.map((record) => podKey(record)));

  for (const record of records) {
    const instanceId = podInstanceId(record);
    const last = ended.get(instanceId);
    if (record.lifecycle.stage === "Deleting") {
      if (last !== undefined)
        plan.restart.push({ instanceId, input: { ...deletingInput(record), retain: last.retain === true } });
      continue;
    }
    if (last !== undefined) {
      // a run that was only deleting goes on deleting; any other starts over, cleaning up after it
      plan.restart.push({ instanceId, input: last.deleting === true ? last : { ...last, resumed: true } });
      continue;
    }
    const settled =
      record.lifecycle.stage === "Scheduled" && record.lifecycle.configuration.phase === "OnHub";
    const id = record.configurationId;
    const newerThanView = Date.parse(record.updatedAt) > inputs.viewReadAt.getTime();
    if (settled && id !== undefined && !newerThanView && !configurations[id]?.pods.includes(podKey(record)))
      plan.resync.push({ instanceId, record });
  }

  const base = inputs.baseConfigurationId;
  const baseOnHub = base !== undefined && configurations[base]?.state.phase === "OnHub";
  const baseHolder = baseDeploymentPodKey(inputs.hub);
  for (const [configurationId, configuration] of Object.entries(configurations)) {
    for (const holder of configuration.pods) {
      if (parseHoldKey(holder) !== undefined) continue; // the adapter checks holds against their owners
      const gone = holder === baseHolder ? baseOnHub && configurationId !== base : !known.has(holder);
      if (gone) plan.release.push({ pod: holder, configurationId });
    }
  }

  const wanted = new Set(records.flatMap(referenced));
  for (const configuration of inputs.onHub) {
    const namespace = configuration.labels?.[connectorLabels.namespace];
    if (!isConnectors(configuration) || namespace === baseDeploymentNamespace) continue;
    if (configurations[configuration.id] !== undefined || wanted.has(configuration.id)) continue;
    plan.adopt.push(asEdgeConfiguration(configuration));
  }
  return plan;
}

function asEdgeConfiguration(configuration: HubConfiguration): EdgeConfiguration {
  return {
    id: configuration.id,
    schemaVersion: "1.0",
    labels: configuration.labels ?? {},
    content: {
      modulesContent: (configuration.content.modulesContent ??
        {}) as EdgeConfiguration["content"]["modulesContent"],
    },
    targetCondition: configuration.targetCondition,
    priority: configuration.priority,
    metrics: { queries: configuration.metrics?.queries ?? {} },
  };
}

/** What the sweep needs from the durable client. */
export interface SweepWorkflows {
  schedulerState(hub: string): Promise<unknown>;
  endedPodOrchestrations(): Promise<ReadonlyMap<string, PodOrchestrationInput>>;
  /** the last input of a running orchestration */
  runningInput(instanceId: string): Promise<PodOrchestrationInput | undefined>;
  start(instanceId: string, input: PodOrchestrationInput): Promise<void>;
  raise(instanceId: string, event: string, data: unknown): Promise<void>;
  callScheduler(hub: string, operation: string, input: unknown): Promise<void>;
  /** the list call's operations for the scheduler's budget, and what it found */
  accountList(hub: string, listed: { ids: string[]; at: string }): Promise<void>;
}

export interface SweepDependencies {
  hub: string;
  workflows: SweepWorkflows;
  records: { listHub(hub: string): Promise<PodRecord[]> };
  listConfigurations(): Promise<HubConfiguration[]>;
  baseConfigurationId?: string;
  now(): Date;
}

export type SweepResult = Record<keyof SweepPlan, number>;

export async function sweepHub(deps: SweepDependencies): Promise<SweepResult> {
  const { hub, workflows } = deps;
  const viewReadAt = deps.now();
  const view = (await workflows.schedulerState(hub)) as HubSchedulerView | undefined;
  const records = await deps.records.listHub(hub);
  const ended = await workflows.endedPodOrchestrations();
  const listedAt = deps.now();
  const onHub = await deps.listConfigurations();
  await workflows.accountList(hub, { ids: onHub.map((c) => c.id), at: listedAt.toISOString() });
  const plan = planSweep({
    hub,
    view,
    viewReadAt,
    records,
    ended,
    onHub,
    ...(deps.baseConfigurationId !== undefined && { baseConfigurationId: deps.baseConfigurationId }),
  });
  for (const { instanceId, input } of plan.restart) await workflows.start(instanceId, input);
  for (const { instanceId } of plan.resync) {
    const input = await workflows.runningInput(instanceId);
    if (input !== undefined) await workflows.raise(instanceId, podEvents.changed, input.spec);
  }
  for (const release of plan.release) await workflows.callScheduler(hub, "release", release);
  if (plan.adopt.length > 0) await workflows.callScheduler(hub, "adoptOrphans", plan.adopt);
  return {
    restart: plan.restart.length,
    resync: plan.resync.length,
    release: plan.release.length,
    adopt: plan.adopt.length,
  };
}
