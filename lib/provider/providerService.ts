// What each provider API route does, independent of the Functions host: the HTTP registrations
// (functions/providerApi.ts) parse the request, call one method here and write its answer.
import { createHash } from "node:crypto";
import stringify from "safe-stable-stringify";
import { getModuleLogs } from "../hub/edgeAgentMethods.js";
import type { HubClient } from "../hub/hubClient.js";
import type { HubReachability } from "../hub/hubTraffic.js";
import { hubReachableCondition } from "./hubCondition.js";
import { moduleNameProblem } from "../translate/containerToModule.js";
import type {
  NodeConditionsResponse,
  NodeHold,
  NodeHoldsResponse,
  NodePodsResponse,
  NodeReconcileRequest,
  ProviderPodStatus,
  PutPodRequest,
} from "./providerContract.js";
import { podInstanceId, podKey, podOwner, type PodIdentity } from "./podIdentity.js";
import {
  deletingInput,
  podEvents,
  type PodDeletedEvent,
  type PodOrchestrationInput,
} from "./podOrchestration.js";
import { holdKey, parseHoldKey } from "../scheduler/ownerHolds.js";
import type { HubSchedulerView, ReleaseConfiguration } from "../scheduler/schedulerContract.js";
import type { PodSpecInput } from "./podActivities.js";
import { nodeListVersion, type PodRecord, type PodRecords } from "./podRecords.js";
import { podContainers, podStatusView } from "./podStatusView.js";
import type { FleetStatus } from "../status/statusContract.js";
import type { EdgeConfiguration } from "../translate/deploymentTypes.js";
import { baseDeploymentInstanceId, heldBaseDeployments, type BaseDeploymentInput } from "./baseDeployment.js";
import { badRequest, notFound, ProviderHttpError } from "./providerErrors.js";
import { KeyedSerial } from "./keyedSerial.js";
import type { LogsQuery } from "./providerRequests.js";

/** The pod orchestrations, as the durable client reaches them. */
export interface PodWorkflows {
  isRunning(instanceId: string): Promise<boolean>;
  start(instanceId: string, input: PodOrchestrationInput): Promise<void>;
  raise(instanceId: string, event: string, data: unknown): Promise<void>;
  startBaseDeployment(hub: string, input: BaseDeploymentInput): Promise<void>;
  /** the hub scheduler's entity state (undefined before its first operation) */
  schedulerState(hub: string): Promise<unknown>;
  /** a scheduler operation from outside an orchestration (run by the hubSchedulerCall orchestration) */
  callScheduler(hub: string, operation: string, input: unknown): Promise<void>;
}

/** What the provider needs from the process; the durable client (PodWorkflows) comes with each call. */
export interface ProviderDependencies {
  hubNames: readonly string[];
  records: PodRecords;
  hubClient(hub: string): HubClient;
  /** deployments the hub's SKU allows, for node conditions before the scheduler has run */
  deploymentLimit(hub: string): number;
  /** the hub's base deployment when the app owns one (HUB_<NAME>_BASE_DEPLOYMENT), else undefined */
  baseDeployment(hub: string): EdgeConfiguration | undefined;
  /** the latest fleet status of each of these configurations that devices have reported on */
  fleetStatuses(hub: string, configurationIds: readonly string[]): Promise<ReadonlyMap<string, FleetStatus>>;
  /** whether the hub answered this process's last request (lib/hub/hubTraffic.ts) */
  hubReachability(hub: string): HubReachability;
  now(): Date;
}

export type PutPodResult = { created: boolean; status: ProviderPodStatus };

/** What identifies a spec change: the node, the pod's metadata that translation reads, its spec, what it refers to. */
export function specHash(request: PutPodRequest): string {
  const { metadata = {}, spec } = request.pod;
  const relevant = {
    node: request.node,
    labels: metadata.labels,
    annotations: metadata.annotations,
    spec,
    resolved: request.resolved,
  };
  return createHash("sha256")
    .update(stringify(relevant) ?? "")
    .digest("base64url");
}

const conditionsCacheMs = 60_000;
/** how long node conditions wait for the device count: the adapter's call must not time out on a slow hub */
const countWaitMs = 5_000;
/** Pods share configurations, so the hub's deployment limit does not bound pods; this only keeps the scheduler sane. */
const podsPerNode = 1000;

/** One per process: its caches and its one-request-at-a-time-per-pod rule hold across requests. */
export class ProviderService {
  private readonly deviceCounts = new Map<string, { at: number; total: number; connected: number }>();
  /** hubs whose base deployment this process has submitted */
  private readonly baseDeploymentsSubmitted = new Set<string>();
  /** one request at a time per pod, and per hub for its base deployment */
  private readonly serial = new KeyedSerial();

  constructor(private readonly deps: ProviderDependencies) {}

  private checkHub(hub: string): void {
    if (!this.deps.hubNames.includes(hub))
      throw notFound("HubNotFound", `hub "${hub}" is not one of the connector's hubs (CONNECTOR_HUBS)`);
  }

  /** PUT pod: a new uid starts its orchestration; a changed spec is sent to it; the same spec is a no-op. */
  async putPod(workflows: PodWorkflows, hub: string, request: PutPodRequest): Promise<PutPodResult> {
    this.checkHub(hub);
    const metadata = request.pod.metadata!;
    const pod: PodIdentity = {
      hub,
      namespace: metadata.namespace!,
      name: metadata.name!,
      uid: metadata.uid!,
    };
    await this.submitBaseDeployment(workflows, hub);
    const instanceId = podInstanceId(pod);
    return this.serial.run(instanceId, () => this.putPodAlone(workflows, pod, instanceId, request));
  }

  private async putPodAlone(
    workflows: PodWorkflows,
    pod: PodIdentity,
    instanceId: string,
    request: PutPodRequest,
  ): Promise<PutPodResult> {
    const spec: PodSpecInput = {
      node: request.node,
      pod: request.pod,
      resolved: request.resolved,
      specHash: specHash(request),
      acceptedAt: this.deps.now().toISOString(),
    };
    const existing = await this.deps.records.get(pod);
    if (existing?.lifecycle.stage === "Deleting")
      throw new ProviderHttpError(409, {
        code: "PodDeleting",
        message: `pod ${podKey(pod)} is being deleted`,
      });
    const running = await workflows.isRunning(instanceId);
    if (existing !== undefined && running) {
      if (existing.specHash !== spec.specHash) await workflows.raise(instanceId, podEvents.changed, spec);
      return { created: false, status: podStatusView(existing) };
    }
    const owner = podOwner(request.pod);
    const record = await this.deps.records.createIfAbsent(
      {
        ...pod,
        node: request.node,
        lifecycle: { stage: "Accepted" },
        containers: podContainers(request.pod),
        specHash: spec.specHash,
        ...(owner !== undefined && { owner }),
      },
      this.deps.now(),
    );
    // An orchestration of this pod ran before and ended early: the new one cleans up after it.
    if (!running)
      await workflows.start(instanceId, { pod, spec, ...(existing !== undefined && { resumed: true }) });
    return { created: existing === undefined, status: podStatusView(record) };
  }

  /** Once per process and hub: (re)submit the app's base deployment, replacing older ones it holds. */
  private async submitBaseDeployment(workflows: PodWorkflows, hub: string): Promise<void> {
    const configuration = this.deps.baseDeployment(hub);
    if (configuration === undefined || this.baseDeploymentsSubmitted.has(hub)) return;
    const instanceId = baseDeploymentInstanceId(hub);
    await this.serial.run(instanceId, async () => {
      if (!this.baseDeploymentsSubmitted.has(hub))
        await this.startBaseDeployment(workflows, hub, configuration);
    });
  }

  private async startBaseDeployment(
    workflows: PodWorkflows,
    hub: string,
    configuration: EdgeConfiguration,
  ): Promise<void> {
    const instanceId = baseDeploymentInstanceId(hub);
    if (!(await workflows.isRunning(instanceId))) {
      const replaces = heldBaseDeployments(await workflows.schedulerState(hub), hub);
      if (!replaces.includes(configuration.id) || replaces.length > 1)
        await workflows.startBaseDeployment(hub, { hub, configuration, replaces });
    }
    this.baseDeploymentsSubmitted.add(hub);
  }

  /**
   * DELETE pod: the orchestration releases the pod's configurations and forgets the pod. `retain`: the
   * pod left without user intent, so a hold for its owner keeps them (lib/scheduler/ownerHolds.ts).
   */
  async deletePod(
    workflows: PodWorkflows,
    hub: string,
    namespace: string,
    name: string,
    uid: string,
    retain = false,
  ): Promise<void> {
    this.checkHub(hub);
    const pod: PodIdentity = { hub, namespace, name, uid };
    const instanceId = podInstanceId(pod);
    await this.serial.run(instanceId, () => this.deletePodAlone(workflows, pod, instanceId, retain));
  }

  private async deletePodAlone(
    workflows: PodWorkflows,
    pod: PodIdentity,
    instanceId: string,
    retain: boolean,
  ): Promise<void> {
    if (await workflows.isRunning(instanceId)) {
      const event: PodDeletedEvent = { retain };
      await workflows.raise(instanceId, podEvents.deleted, event);
      return;
    }
    // its orchestration ended (failed): a new one releases what the pod may hold and forgets it
    const record = await this.deps.records.get(pod);
    if (record === undefined)
      throw notFound("PodNotFound", `pod ${podKey(pod)} is not known on hub "${pod.hub}"`);
    await workflows.start(instanceId, { ...deletingInput(record), retain });
  }

  async podStatus(hub: string, namespace: string, name: string): Promise<ProviderPodStatus> {
    this.checkHub(hub);
    const [record] = await this.deps.records.findByName(hub, namespace, name);
    if (record === undefined)
      throw notFound("PodNotFound", `pod ${namespace}/${name} is not known on hub "${hub}"`);
    const fleets = await this.fleetsOf(hub, [record]);
    return podStatusView(record, fleets.get(record.configurationId ?? ""));
  }

  private async fleetsOf(
    hub: string,
    records: readonly PodRecord[],
  ): Promise<ReadonlyMap<string, FleetStatus>> {
    const ids = [
      ...new Set(records.flatMap((record) => (record.configurationId ? [record.configurationId] : []))),
    ];
    return ids.length === 0 ? new Map() : this.deps.fleetStatuses(hub, ids);
  }

  /** The node's pods, or `undefined` when `ifNoneMatch` is still the list's version (304). */
  async nodePods(
    hub: string,
    node: string,
    ifNoneMatch: string | null,
  ): Promise<NodePodsResponse | undefined> {
    this.checkHub(hub);
    const records = await this.deps.records.listNode(hub, node);
    const fleets = await this.fleetsOf(hub, records);
    const fleetVersions = new Map([...fleets].map(([id, fleet]) => [id, fleet.version]));
    const version = nodeListVersion(records, fleetVersions);
    if (ifNoneMatch !== null && ifNoneMatch.replace(/^W\//, "").replace(/"/g, "") === version)
      return undefined;
    return {
      hub,
      node,
      version,
      pods: records.map((record) => podStatusView(record, fleets.get(record.configurationId ?? ""))),
    };
  }

  /**
   * After an adapter restart: every pod the app has on the node that the cluster no longer has is
   * deleted (held for its owner when the node was not Ready meanwhile: `retainGone`).
   */
  async reconcileNode(
    workflows: PodWorkflows,
    hub: string,
    node: string,
    request: NodeReconcileRequest,
  ): Promise<{ deleted: string[] }> {
    this.checkHub(hub);
    const live = new Set(request.pods);
    const records = await this.deps.records.listNode(hub, node);
    const gone = records.filter((record) => !live.has(podKey(record)));
    const retain = request.retainGone === true;
    for (const record of gone)
      await this.deletePod(workflows, hub, record.namespace, record.name, record.uid, retain);
    return { deleted: gone.map((record) => podKey(record)) };
  }

  /** The node's holds, per owner: what the adapter checks against the owners in the cluster. */
  async nodeHolds(workflows: PodWorkflows, hub: string, node: string): Promise<NodeHoldsResponse> {
    this.checkHub(hub);
    const view = (await workflows.schedulerState(hub)) as Partial<HubSchedulerView> | undefined;
    const holds = new Map<string, NodeHold>();
    for (const [id, configuration] of Object.entries(view?.configurations ?? {})) {
      for (const holder of configuration.pods) {
        const hold = parseHoldKey(holder);
        if (hold === undefined || hold.node !== node) continue;
        const entry = holds.get(holder) ?? {
          namespace: hold.namespace,
          owner: hold.owner,
          configurationIds: [],
        };
        entry.configurationIds.push(id);
        holds.set(holder, entry);
      }
    }
    return { holds: [...holds.values()] };
  }

  /** The adapter found the owner gone or scaled down: its holds on this node are released (after the grace). */
  async releaseHolds(workflows: PodWorkflows, hub: string, node: string, ownerUid: string): Promise<number> {
    const { holds } = await this.nodeHolds(workflows, hub, node);
    let released = 0;
    for (const hold of holds.filter((candidate) => candidate.owner.uid === ownerUid)) {
      const holder = holdKey({ node, namespace: hold.namespace, owner: hold.owner });
      for (const configurationId of hold.configurationIds) {
        const request: ReleaseConfiguration = { pod: holder, configurationId };
        await workflows.callScheduler(hub, "release", request);
        released += 1;
      }
    }
    return released;
  }

  /** Log lines of a container: from `?device=`, else from the first device where its module runs. */
  async containerLogs(
    hub: string,
    namespace: string,
    name: string,
    container: string,
    query: LogsQuery,
  ): Promise<{ deviceId: string; lines: string[] }> {
    this.checkHub(hub);
    const problem = moduleNameProblem(container);
    if (problem !== undefined) throw badRequest("container", problem);
    const [record] = await this.deps.records.findByName(hub, namespace, name);
    if (record === undefined)
      throw notFound("PodNotFound", `pod ${namespace}/${name} is not known on hub "${hub}"`);
    const client = this.deps.hubClient(hub);
    const deviceId = query.device ?? (await this.firstDeviceRunning(client, container));
    if (deviceId === undefined)
      throw notFound(
        "NoDeviceRunsContainer",
        `no device reports module "${container}" running; name one with ?device=`,
      );
    const lines = await getModuleLogs(client, deviceId, {
      moduleName: container,
      ...(query.tail !== undefined ? { tail: query.tail } : {}),
      ...(query.since !== undefined ? { since: query.since } : {}),
    });
    return { deviceId, lines };
  }

  private async firstDeviceRunning(client: HubClient, moduleName: string): Promise<string | undefined> {
    const query =
      "SELECT deviceId FROM devices.modules WHERE moduleId = '$edgeAgent' AND " +
      `properties.reported.modules.${moduleName}.runtimeStatus = 'running'`;
    for await (const page of client.queryTwins(query, { pageSize: 1 })) {
      const first = page[0];
      if (first !== undefined) return first.deviceId;
    }
    return undefined;
  }

  /**
   * HubReachable (from the hub's last answers), devices total/connected (one paged twin query, cached a
   * minute; a slow or failing hub does not hold the answer: the last counts stand), deployments used/limit.
   */
  async nodeConditions(workflows: PodWorkflows, hub: string, node: string): Promise<NodeConditionsResponse> {
    this.checkHub(hub);
    const view = (await workflows.schedulerState(hub)) as Partial<HubSchedulerView> | undefined;
    const deployments = {
      used: view?.deploymentsOnHub ?? 0,
      limit: view?.deploymentLimit ?? this.deps.deploymentLimit(hub),
    };
    const devices = await this.countDevicesWithin(hub, countWaitMs);
    const total = devices?.total ?? 0;
    const connected = devices?.connected ?? 0;
    const full = deployments.used >= deployments.limit;
    const reachability = this.deps.hubReachability(hub);
    const hubCondition = hubReachableCondition(hub, reachability, view, this.deps.now());
    if (hubCondition.status === "True" && devices !== undefined)
      hubCondition.message += `: ${connected} of ${total} devices connected (node ${node})`;
    return {
      hub,
      hubReachable: hubCondition.status === "True",
      devicesTotal: total,
      devicesConnected: connected,
      deployments,
      conditions: [
        hubCondition,
        {
          type: "DeploymentCapacity",
          status: full ? "False" : "True",
          reason: full ? "HubDeploymentLimit" : "DeploymentSlotsFree",
          message: `${deployments.used} of ${deployments.limit} deployments used`,
        },
      ],
      capacity: { pods: String(podsPerNode), devices: String(total) },
    };
  }

  /** The device counts, waiting at most `waitMs` (then the last counts, if any; the query goes on and fills the cache). */
  private async countDevicesWithin(
    hub: string,
    waitMs: number,
  ): Promise<{ total: number; connected: number } | undefined> {
    const counting = this.countDevices(hub).catch(() => undefined);
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<undefined>((resolve) => (timer = setTimeout(() => resolve(undefined), waitMs)));
    const counts = await Promise.race([counting, late]).finally(() => clearTimeout(timer));
    return counts ?? this.deviceCounts.get(hub);
  }

  private async countDevices(hub: string): Promise<{ total: number; connected: number }> {
    const cached = this.deviceCounts.get(hub);
    const now = this.deps.now().getTime();
    if (cached !== undefined && now - cached.at < conditionsCacheMs) return cached;
    let total = 0;
    let connected = 0;
    for await (const page of this.deps.hubClient(hub).queryTwins("SELECT * FROM devices")) {
      total += page.length;
      connected += page.filter((twin) => twin.connectionState === "Connected").length;
    }
    const counts = { at: now, total, connected };
    this.deviceCounts.set(hub, counts);
    return counts;
  }
}
