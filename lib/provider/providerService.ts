// What each provider API route does, independent of the Functions host: the HTTP registrations
// (functions/providerApi.ts) parse the request, call one method here and write its answer.
import { createHash } from "node:crypto";
import { setTimeout } from "node:timers/promises";
import { isDeepStrictEqual } from "node:util";
import stringify from "safe-stable-stringify";
import { getModuleLogs } from "../hub/edgeAgentMethods.js";
import type { HubClient } from "../hub/hubClient.js";
import { HubNotFoundError } from "../hub/hubErrors.js";
import { redact } from "../hub/redact.js";
import { moduleNameProblem } from "../translate/containerToModule.js";
import type {
  NodeConditionsResponse,
  NodePodsResponse,
  NodeReconcileRequest,
  ProviderPodStatus,
  PutPodRequest,
} from "./providerContract.js";
import { podInstanceId, podKey, type PodIdentity } from "./podIdentity.js";
import { podEvents, type PodOrchestrationInput } from "./podOrchestration.js";
import {
  configurationPhaseIn,
  translatePod,
  type PodSpecInput,
  type TranslatePodResult,
} from "./podActivities.js";
import { refusedLifecycle, scheduledLifecycle } from "./podLifecycles.js";
import type { PodLifecycle } from "../status/statusContract.js";
import type { NodePolicy } from "../policy/fleetPolicy.js";
import { nodeListVersion, type PodRecord, type PodRecords } from "./podRecords.js";
import { podContainers, podStatusView } from "./podStatusView.js";
import type { FleetStatus } from "../status/statusContract.js";
import type { EdgeConfiguration } from "../translate/deploymentTypes.js";
import type { HubSchedulerView, HubTrouble } from "../scheduler/schedulerContract.js";
import { baseDeploymentInstanceId, heldBaseDeployments, type BaseDeploymentInput } from "./baseDeployment.js";
import { badRequest, busy, forbidden, notFound, ProviderHttpError } from "./providerErrors.js";
import { KeyedSerial } from "./keyedSerial.js";
import { configurationsHeldBy } from "../scheduler/heldConfigurations.js";
import type { LogsQuery } from "./providerRequests.js";
import { describeNode, type NodeIdentity } from "./nodeCredentials.js";
import { withTimestamps } from "./moduleLogLines.js";
import { shownHubTrouble } from "./hubTrouble.js";

/** The pod orchestrations, as the durable client reaches them. */
export interface PodWorkflows {
  isRunning(instanceId: string): Promise<boolean>;
  start(instanceId: string, input: PodOrchestrationInput): Promise<void>;
  raise(instanceId: string, event: string, data: unknown): Promise<void>;
  startBaseDeployment(hub: string, input: BaseDeploymentInput): Promise<void>;
  /** the hub scheduler's entity state (undefined before its first operation) */
  schedulerState(hub: string): Promise<unknown>;
  /** messages waiting in the task hub's queues (at most a second old) */
  backlog(): Promise<number>;
}

/** What the provider needs from the process; the durable client (PodWorkflows) comes with each call. */
export interface ProviderDependencies {
  hubNames: readonly string[];
  records: PodRecords;
  hubClient(hub: string): HubClient;
  /** deployments the hub's SKU allows, for node conditions before the scheduler has run */
  deploymentLimit(hub: string): number;
  /** task hub messages waiting above which a PUT is answered 503 with Retry-After (0: no limit) */
  backlogLimit: number;
  /** the virtual node's fleet policy: the HTTP API translates a pod under it before its orchestration starts */
  nodePolicy(node: string): NodePolicy;
  /** the hub's base deployment when the app owns one (HUB_<NAME>_BASE_DEPLOYMENT), else undefined */
  baseDeployment(hub: string): EdgeConfiguration | undefined;
  /** changes whenever any fleet status of the hub may have changed (cheap: no statuses read) */
  fleetTag(hub: string): Promise<string>;
  /** the latest fleet status of each of these configurations that devices have reported on */
  fleetStatuses(hub: string, configurationIds: readonly string[]): Promise<ReadonlyMap<string, FleetStatus>>;
  /**
   * the hub's devices and how many are connected, as the status pipeline keeps them (no hub query);
   * undefined until the pipeline has filled the hub's device states
   */
  deviceCounts(hub: string): Promise<{ total: number; connected: number } | undefined>;
  now(): Date;
}

/** How long a caller refused for the task hub's backlog waits: twice the backlog count's age. */
export const BUSY_RETRY_AFTER_SECONDS = 2;

export type PutPodResult = { created: boolean; status: ProviderPodStatus };

/** What identifies a spec change: the node, the pod's metadata that translation reads, its spec, what it refers to, its rollout stage. */
export function specHash(request: PutPodRequest, cluster?: string): string {
  const { metadata = {}, spec } = request.pod;
  const relevant = {
    node: request.node,
    cluster,
    labels: metadata.labels,
    annotations: metadata.annotations,
    spec,
    resolved: request.resolved,
    rollout: request.rollout,
  };
  return createHash("sha256")
    .update(stringify(relevant) ?? "")
    .digest("base64url");
}

/**
 * A new pod's stage as its record is created: refused, or with its configuration's phase when the
 * scheduler already has that configuration (a replica's is often on the hub: its orchestration then
 * writes nothing more), else Accepted.
 */
function firstLifecycle(translated: TranslatePodResult, spec: PodSpecInput, view: unknown): PodLifecycle {
  if (!translated.accepted) return refusedLifecycle(translated);
  const id = translated.want.configuration.id;
  const phase = configurationPhaseIn(view, id);
  return phase === null ? { stage: "Accepted" } : scheduledLifecycle(id, phase, spec, translated);
}

/** How often a held node list checks storage for a change: well inside the adapter's 2 s to show a status. */
const changeCheckIntervalMs = 500;
/** how often a held node list reads the hub's scheduler state for trouble to show */
const troubleCheckIntervalMs = 5_000;

/** Pods share configurations, so the hub's deployment limit does not bound pods; this only keeps the scheduler sane. */
const podsPerNode = 1000;

/** One per process: its caches and its one-request-at-a-time-per-pod rule hold across requests. */
export class ProviderService {
  /** hubs whose base deployment this process has submitted */
  private readonly baseDeploymentsSubmitted = new Set<string>();
  /** one request at a time per pod, and per hub for its base deployment */
  private readonly serial = new KeyedSerial();

  constructor(private readonly deps: ProviderDependencies) {}

  private checkHub(hub: string): void {
    if (!this.deps.hubNames.includes(hub))
      throw notFound("HubNotFound", `hub "${hub}" is not one of the connector's hubs (CONNECTOR_HUBS)`);
  }

  /** A node acts on its own hub and its own node only. */
  private authorize(caller: NodeIdentity, hub: string, node?: string): void {
    if (hub !== caller.hub)
      throw forbidden("OtherHub", `the credential of ${describeNode(caller)} is not valid for hub "${hub}"`);
    if (node !== undefined && node !== caller.node)
      throw forbidden(
        "OtherNode",
        `the credential of ${describeNode(caller)} is not valid for node "${node}"`,
      );
    this.checkHub(hub);
  }

  /** Whether a pod record is the caller's: its node, in its cluster (records from before clusters: by name). */
  private static owns(caller: NodeIdentity, record: PodRecord): boolean {
    return record.node === caller.node && (record.cluster === undefined || record.cluster === caller.cluster);
  }

  private static refuseOthers(caller: NodeIdentity, record: PodRecord): void {
    if (!ProviderService.owns(caller, record))
      throw forbidden(
        "PodOfAnotherNode",
        `pod ${podKey(record)} belongs to another node than ${describeNode(caller)}`,
      );
  }

  /** The caller's newest pod of this name; 403 when only other nodes have one, 404 when nobody has. */
  private async ownRecord(
    caller: NodeIdentity,
    hub: string,
    namespace: string,
    name: string,
  ): Promise<PodRecord> {
    const records = await this.deps.records.findByName(hub, namespace, name);
    const own = records.find((record) => ProviderService.owns(caller, record));
    if (own !== undefined) return own;
    const [other] = records;
    if (other !== undefined) ProviderService.refuseOthers(caller, other);
    throw notFound("PodNotFound", `pod ${namespace}/${name} is not known on hub "${hub}"`);
  }

  /** PUT pod: a new uid starts its orchestration; a changed spec is sent to it; the same spec is a no-op. */
  async putPod(
    workflows: PodWorkflows,
    caller: NodeIdentity,
    hub: string,
    request: PutPodRequest,
  ): Promise<PutPodResult> {
    this.authorize(caller, hub, request.node);
    const metadata = request.pod.metadata!;
    const pod: PodIdentity = {
      hub,
      namespace: metadata.namespace!,
      name: metadata.name!,
      uid: metadata.uid!,
    };
    await this.refuseWhileBehind(workflows);
    await this.submitBaseDeployment(workflows, hub);
    const instanceId = podInstanceId(pod);
    return this.serial.run(instanceId, () => this.putPodAlone(workflows, caller, pod, instanceId, request));
  }

  private async putPodAlone(
    workflows: PodWorkflows,
    caller: NodeIdentity,
    pod: PodIdentity,
    instanceId: string,
    request: PutPodRequest,
  ): Promise<PutPodResult> {
    const spec: PodSpecInput = {
      node: request.node,
      cluster: caller.cluster,
      pod: request.pod,
      resolved: request.resolved,
      ...(request.rollout !== undefined && { rollout: request.rollout }),
      specHash: specHash(request, caller.cluster),
    };
    // translated here, where the policy is at hand: the orchestration saves an activity and an episode
    spec.translated = translatePod({ hub: pod.hub, ...spec }, this.deps.nodePolicy(request.node));
    // the scheduler's view (read at most once a second per hub by the app) gives a new pod's first stage
    const view = await workflows.schedulerState(pod.hub);
    const lifecycle = firstLifecycle(spec.translated, spec, view);
    // creating the record alone tells a new pod from a known one: no record or instance read first
    const { record, created } = await this.deps.records.createIfAbsent(
      {
        ...pod,
        node: request.node,
        cluster: caller.cluster,
        lifecycle,
        ...(lifecycle.stage === "Scheduled" && { configurationId: lifecycle.configurationId }),
        containers: podContainers(request.pod),
        specHash: spec.specHash,
      },
      this.deps.now(),
    );
    ProviderService.refuseOthers(caller, record);
    if (!created) {
      if (record.lifecycle.stage === "Deleting")
        throw new ProviderHttpError(409, {
          code: "PodDeleting",
          message: `pod ${podKey(pod)} is being deleted`,
        });
      if (await workflows.isRunning(instanceId)) {
        if (record.specHash !== spec.specHash) await workflows.raise(instanceId, podEvents.changed, spec);
        return { created, status: podStatusView(record) };
      }
    }
    // an earlier orchestration of the pod may have failed holding configurations: the new one releases
    // them (a start while one runs, its record just forgotten, is refused and changes nothing)
    const leftovers = configurationsHeldBy(view, podKey(pod));
    await workflows.start(instanceId, {
      pod,
      spec,
      ...(leftovers.length > 0 && { leftoverConfigurationIds: leftovers }),
      // the orchestration writes no stage the record already holds for this spec
      ...(record.specHash === spec.specHash && { recorded: record.lifecycle }),
      // a new replica of a configuration on the hub: its want needs no answer (the view is under a second old)
      ...(created &&
        lifecycle.stage === "Scheduled" &&
        lifecycle.configuration.phase === "OnHub" && { configurationOnHub: lifecycle.configurationId }),
    });
    return { created, status: podStatusView(record) };
  }

  /**
   * A PUT adds work to the task hub (a start, an event, the scheduler's `want`s). While the hub is
   * behind, more of it makes every pod later, so the caller is asked to come back (its retries pace
   * the burst); deletes are always taken, since they shorten the queue's work.
   */
  private async refuseWhileBehind(workflows: PodWorkflows): Promise<void> {
    const limit = this.deps.backlogLimit;
    if (limit === 0) return;
    const waiting = await workflows.backlog();
    if (waiting > limit)
      throw busy(
        `the app's task hub has ${waiting} messages waiting (limit ${limit}); try again in ${BUSY_RETRY_AFTER_SECONDS} s`,
        BUSY_RETRY_AFTER_SECONDS,
      );
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

  /** DELETE pod: the orchestration releases the configuration and forgets the pod. */
  async deletePod(
    workflows: PodWorkflows,
    caller: NodeIdentity,
    hub: string,
    namespace: string,
    name: string,
    uid: string,
  ): Promise<void> {
    this.authorize(caller, hub);
    const pod: PodIdentity = { hub, namespace, name, uid };
    const instanceId = podInstanceId(pod);
    await this.serial.run(instanceId, () => this.deletePodAlone(workflows, caller, pod, instanceId));
  }

  private async deletePodAlone(
    workflows: PodWorkflows,
    caller: NodeIdentity,
    pod: PodIdentity,
    instanceId: string,
  ): Promise<void> {
    const { hub, namespace, name, uid } = pod;
    const record = await this.deps.records.get(pod);
    if (record !== undefined) ProviderService.refuseOthers(caller, record);
    if (await workflows.isRunning(instanceId)) {
      // a running orchestration always has its record (written before it starts): it is the caller's
      if (record === undefined)
        throw notFound("PodNotFound", `pod ${podKey(pod)} is not known on hub "${hub}"`);
      await workflows.raise(instanceId, podEvents.deleted, {});
      return;
    }
    // its orchestration ended (failed): a new one releases what the pod may hold and forgets it
    if (record === undefined)
      throw notFound("PodNotFound", `pod ${podKey(pod)} is not known on hub "${hub}"`);
    const spec: PodSpecInput = {
      node: record.node,
      cluster: caller.cluster,
      pod: { metadata: { namespace, name, uid }, spec: { containers: record.containers } },
      resolved: { configMaps: {}, secrets: {} },
      specHash: record.specHash,
    };
    await workflows.start(instanceId, {
      pod,
      spec,
      deleting: true,
      ...(record.configurationId ? { deployedConfigurationId: record.configurationId } : {}),
    });
  }

  async podStatus(
    workflows: PodWorkflows,
    caller: NodeIdentity,
    hub: string,
    namespace: string,
    name: string,
  ): Promise<ProviderPodStatus> {
    this.authorize(caller, hub);
    const record = await this.ownRecord(caller, hub, namespace, name);
    const [fleets, trouble] = await Promise.all([
      this.fleetsOf(hub, [record]),
      this.hubTrouble(workflows, hub),
    ]);
    return podStatusView(record, fleets.get(record.configurationId ?? ""), trouble);
  }

  /** The hub's trouble as pods show it; a scheduler that cannot be read shows none (pods keep their status). */
  private async hubTrouble(workflows: PodWorkflows, hub: string): Promise<HubTrouble | undefined> {
    const view = await workflows.schedulerState(hub).catch(() => undefined);
    return shownHubTrouble(view as HubSchedulerView | undefined, this.deps.now());
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

  /**
   * The node's pods, or `undefined` when `ifNoneMatch` is still the list's version (304). With
   * `waitMs`, an unchanged list is held until it changes or the wait ends: every
   * `changeCheckIntervalMs` the wait reads only the fleet rows' ETags and the node's rows changed
   * since, so a change written by any instance (the one holding the wait need not be the one that
   * processed the event) is seen; then it reads again only what moved (the node's pods, or the
   * fleet statuses, which move often during a rollout while the pods seldom do).
   */
  async nodePods(
    workflows: PodWorkflows,
    caller: NodeIdentity,
    hub: string,
    node: string,
    ifNoneMatch: string | null,
    waitMs = 0,
  ): Promise<NodePodsResponse | undefined> {
    this.authorize(caller, hub, node);
    const deadline = this.deps.now().getTime() + waitMs;
    const known = ifNoneMatch?.replace(/^W\//, "").replace(/"/g, "");
    // each tag is read before what it guards, so a change in between shows at the next check
    let fleetTag = waitMs > 0 ? await this.deps.fleetTag(hub) : "";
    let { records, mark } = await this.deps.records.listNodeMarked(hub, node, caller.cluster);
    let trouble = await this.hubTrouble(workflows, hub);
    for (;;) {
      const fleets = await this.fleetsOf(hub, records);
      const fleetVersions = new Map([...fleets].map(([id, fleet]) => [id, fleet.version]));
      const version = nodeListVersion(records, fleetVersions, trouble);
      if (known !== version)
        return {
          hub,
          node,
          version,
          pods: records.map((record) =>
            podStatusView(record, fleets.get(record.configurationId ?? ""), trouble),
          ),
        };
      // Wait until a pod of the node was written (read its pods again), a fleet row was (read the
      // fleet statuses again: during a rollout they move often, the node's pods seldom), or the
      // hub's shown trouble changed (the scheduler's state, read less often: it shows after a minute).
      let nextTroubleCheck = this.deps.now().getTime() + troubleCheckIntervalMs;
      for (;;) {
        const left = deadline - this.deps.now().getTime();
        if (left <= 0) return undefined;
        await setTimeout(Math.min(left, changeCheckIntervalMs));
        const tag = await this.deps.fleetTag(hub);
        if (await this.deps.records.changedSince(hub, node, caller.cluster, mark)) {
          ({ records, mark } = await this.deps.records.listNodeMarked(hub, node, caller.cluster));
          fleetTag = tag;
          break;
        }
        if (tag !== fleetTag) {
          fleetTag = tag;
          break;
        }
        if (this.deps.now().getTime() >= nextTroubleCheck) {
          const seen = await this.hubTrouble(workflows, hub);
          if (!isDeepStrictEqual(seen, trouble)) {
            trouble = seen;
            break;
          }
          nextTroubleCheck = this.deps.now().getTime() + troubleCheckIntervalMs;
        }
      }
    }
  }

  /** After an adapter restart: every pod the app has on the node that the cluster no longer has is deleted. */
  async reconcileNode(
    workflows: PodWorkflows,
    caller: NodeIdentity,
    hub: string,
    node: string,
    request: NodeReconcileRequest,
  ): Promise<{ deleted: string[] }> {
    this.authorize(caller, hub, node);
    const live = new Set(request.pods);
    // only the caller's own pods: another node's (or another cluster's node of the same name) are not its to drop
    const records = await this.deps.records.listNode(hub, node, caller.cluster);
    const gone = records.filter((record) => !live.has(podKey(record)));
    for (const record of gone)
      await this.deletePod(workflows, caller, hub, record.namespace, record.name, record.uid);
    return { deleted: gone.map((record) => podKey(record)) };
  }

  /**
   * Log lines of a container, only from a device its pod's deployment targets: the one asked for
   * (it must be targeted: the hub marks the configuration on that device's $edgeAgent twin), else
   * the first device where the pod's own status says its module runs.
   */
  async containerLogs(
    caller: NodeIdentity,
    hub: string,
    namespace: string,
    name: string,
    container: string,
    query: LogsQuery,
  ): Promise<{ deviceId: string; lines: string[] }> {
    this.authorize(caller, hub);
    const problem = moduleNameProblem(container);
    if (problem !== undefined) throw badRequest("container", problem);
    const record = await this.ownRecord(caller, hub, namespace, name);
    if (!record.containers.some((known) => known.name === container))
      throw notFound("ContainerNotFound", `container "${container}" is not in pod ${namespace}/${name}`);
    const configurationId = record.configurationId;
    if (configurationId === undefined)
      throw notFound("NotDeployed", `pod ${namespace}/${name} has no deployment on the hub yet`);
    const client = this.deps.hubClient(hub);
    let deviceId: string | undefined;
    if (query.device !== undefined) {
      await this.checkTargeted(client, query.device, configurationId, `${namespace}/${name}`);
      deviceId = query.device;
    } else {
      const fleet = (await this.deps.fleetStatuses(hub, [configurationId])).get(configurationId);
      deviceId = fleet?.modules[container]?.runningOn?.[0];
    }
    if (deviceId === undefined)
      throw notFound(
        "NoDeviceRunsContainer",
        `no device of pod ${namespace}/${name}'s deployment reports "${container}" running yet; name one with ?device=`,
      );
    const lines = await getModuleLogs(client, deviceId, {
      moduleName: container,
      ...(query.tail !== undefined ? { tail: query.tail } : {}),
      ...(query.since !== undefined ? { since: query.since } : {}),
    });
    return { deviceId, lines: query.timestamps ? withTimestamps(lines) : lines };
  }

  /** The device's $edgeAgent twin lists the configurations the hub targets it with. */
  private async checkTargeted(
    client: HubClient,
    deviceId: string,
    configurationId: string,
    pod: string,
  ): Promise<void> {
    let configurations: unknown;
    try {
      configurations = (await client.getModuleTwin(deviceId, "$edgeAgent")).configurations;
    } catch (error) {
      if (!(error instanceof HubNotFoundError)) throw error;
    }
    const targeted =
      typeof configurations === "object" &&
      configurations !== null &&
      Object.hasOwn(configurations, configurationId);
    if (!targeted)
      throw forbidden("DeviceNotTargeted", `device "${deviceId}" is not targeted by pod ${pod}'s deployment`);
  }

  /** Hub reachable, devices total/connected (from the status pipeline: no hub query), deployments used/limit. */
  async nodeConditions(
    workflows: PodWorkflows,
    caller: NodeIdentity,
    hub: string,
    node: string,
  ): Promise<NodeConditionsResponse> {
    this.authorize(caller, hub, node);
    const schedulerState = await workflows.schedulerState(hub);
    const view = (schedulerState ?? {}) as { deploymentsOnHub?: number; deploymentLimit?: number };
    const deployments = {
      used: view.deploymentsOnHub ?? 0,
      limit: view.deploymentLimit ?? this.deps.deploymentLimit(hub),
    };
    let devices: { total: number; connected: number } | undefined;
    let unreadable = "";
    try {
      devices = await this.countDevices(hub);
    } catch (error) {
      unreadable = redact(error instanceof Error ? error.message : String(error));
    }
    const reachable = devices !== undefined;
    const total = devices?.total ?? 0;
    const connected = devices?.connected ?? 0;
    const full = deployments.used >= deployments.limit;
    const trouble = shownHubTrouble(schedulerState as HubSchedulerView | undefined, this.deps.now());
    return {
      hub,
      hubReachable: reachable && trouble === undefined,
      devicesTotal: total,
      devicesConnected: connected,
      deployments,
      conditions: [
        // Never Ready: the adapter owns that, and keeps it True while it runs (docs/adapter.md).
        // The counts come from the status pipeline, so a hub's 429 never reaches this condition.
        hubReachableCondition(hub, node, trouble, reachable ? { connected, total } : unreadable),
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

  private async countDevices(hub: string): Promise<{ total: number; connected: number }> {
    return (await this.deps.deviceCounts(hub)) ?? { total: 0, connected: 0 };
  }
}

/**
 * HubReachable: False while the hub has throttled or failed the scheduler's operations for long
 * (HubThrottling, HubUnavailable), Unknown while the device counts cannot be read, else True.
 */
function hubReachableCondition(
  hub: string,
  node: string,
  trouble: HubTrouble | undefined,
  devices: { connected: number; total: number } | string,
): NodeConditionsResponse["conditions"][number] {
  if (trouble !== undefined) {
    const throttled = trouble.kind === "Throttled";
    return {
      type: "HubReachable",
      status: "False",
      reason: throttled ? "HubThrottling" : "HubUnavailable",
      message: throttled
        ? `IoT Hub ${hub} has throttled the connector's configuration operations (429) since ${trouble.since}; deployments wait, devices keep running`
        : `IoT Hub ${hub} has not accepted the connector's configuration operations since ${trouble.since}; deployments wait, devices keep running`,
    };
  }
  if (typeof devices === "string")
    return {
      type: "HubReachable",
      status: "Unknown",
      reason: "DeviceCountsUnavailable",
      message: `the device counts of IoT Hub ${hub} cannot be read from the status store: ${devices}`,
    };
  return {
    type: "HubReachable",
    status: "True",
    reason: "HubReachable",
    message: `IoT Hub ${hub}: ${devices.connected} of ${devices.total} devices connected (node ${node})`,
  };
}
