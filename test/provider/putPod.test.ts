// A pod's PUT through the ProviderService, with its records in Azurite and the durable client's
// calls recorded (the app harness runs the same through the host: test/app/providerApi.test.ts):
// what it translates, writes and starts before the pod's orchestration runs.
import type { V1Pod } from "@kubernetes/client-node";
import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from "vitest";
import { startLocalAzurite, type LocalAzurite } from "../../dev/localAzurite.js";
import { defaultNodePolicy } from "../../lib/policy/fleetPolicy.js";
import type { PodOrchestrationInput } from "../../lib/provider/podOrchestration.js";
import { translatePod } from "../../lib/provider/podActivities.js";
import { PodRecords } from "../../lib/provider/podRecords.js";
import {
  BUSY_RETRY_AFTER_SECONDS,
  ProviderService,
  type PodWorkflows,
} from "../../lib/provider/providerService.js";
import type { HubSchedulerView } from "../../lib/scheduler/schedulerContract.js";
import { podFixture } from "./providerFixtures.js";

const hub = "hub1";
const caller = { cluster: "cluster-a", hub, node: "edge-node" };
const BACKLOG_LIMIT = 50;

/** The durable client's calls, with the scheduler's view as given. */
class RecordingWorkflows implements PodWorkflows {
  readonly calls: string[] = [];
  readonly started: PodOrchestrationInput[] = [];
  readonly raised: { event: string; data: unknown }[] = [];
  readonly running = new Set<string>();
  view: HubSchedulerView | undefined;
  /** the task hub's queued messages */
  waiting = 0;

  isRunning(instanceId: string): Promise<boolean> {
    this.calls.push("isRunning");
    return Promise.resolve(this.running.has(instanceId));
  }
  start(instanceId: string, input: PodOrchestrationInput): Promise<void> {
    this.calls.push("start");
    this.started.push(input);
    this.running.add(instanceId);
    return Promise.resolve();
  }
  raise(_instanceId: string, event: string, data: unknown): Promise<void> {
    this.calls.push("raise");
    this.raised.push({ event, data });
    return Promise.resolve();
  }
  startBaseDeployment(): Promise<void> {
    return Promise.reject(new Error("no base deployment in these tests"));
  }
  schedulerState(): Promise<unknown> {
    return Promise.resolve(this.view);
  }
  backlog(): Promise<number> {
    return Promise.resolve(this.waiting);
  }
}

describe("a pod's PUT", () => {
  let azurite: LocalAzurite;
  let records: PodRecords;
  let service: ProviderService;
  let workflows: RecordingWorkflows;
  let uid = 0;
  const newPod = (image?: string) => {
    uid += 1;
    return podFixture({ name: `sensor-${uid}`, uid: `uid-${uid}`, ...(image && { image }) });
  };

  beforeAll(async () => {
    azurite = await startLocalAzurite({ inMemory: true });
    records = PodRecords.fromConnectionString(azurite.connectionString);
    service = new ProviderService({
      hubNames: [hub],
      records,
      nodePolicy: () => defaultNodePolicy,
      hubClient: () => {
        throw new Error("a PUT makes no hub call");
      },
      deploymentLimit: () => 100,
      backlogLimit: BACKLOG_LIMIT,
      baseDeployment: () => undefined,
      fleetStatuses: () => Promise.resolve(new Map()),
      fleetTag: () => Promise.resolve(""),
      deviceCounts: () => Promise.resolve(undefined),
      now: () => new Date(),
    });
  });
  afterAll(() => azurite?.stop());
  beforeEach(() => {
    workflows = new RecordingWorkflows();
  });

  it("while the task hub has more messages waiting than its limit: 503 with Retry-After, nothing written or started", async () => {
    const pod = newPod();
    const request = { node: "edge-node", pod, resolved: { configMaps: {}, secrets: {} } };
    workflows.waiting = BACKLOG_LIMIT + 1;
    const refused = await service.putPod(workflows, caller, hub, request).catch((error: unknown) => error);
    expect(refused).toMatchObject({
      status: 503,
      retryAfterSeconds: BUSY_RETRY_AFTER_SECONDS,
      body: {
        code: "AppBusy",
        message: expect.stringContaining(`${BACKLOG_LIMIT + 1} messages waiting (limit ${BACKLOG_LIMIT})`),
      },
    });
    expect(workflows.calls).toEqual([]);
    expect(await records.findByName(hub, "default", pod.metadata!.name!)).toEqual([]);
    // at the limit it is taken
    workflows.waiting = BACKLOG_LIMIT;
    const taken = await service.putPod(workflows, caller, hub, request);
    expect(taken.created).toBe(true);
    expect(workflows.calls).toEqual(["start"]);
  });

  it("starts a new pod's orchestration with the pod translated under its node's policy", async () => {
    await service.putPod(workflows, caller, hub, {
      node: "edge-node",
      pod: newPod(),
      resolved: { configMaps: {}, secrets: {} },
    });
    const [input] = workflows.started;
    expect(input?.spec.translated).toMatchObject({
      accepted: true,
      want: { kind: "layered", modules: { sensor: "sensor" } },
    });
  });

  it("starts a pod its translation refuses too, with the refusal naming the field (the orchestration fails it)", async () => {
    const pod = newPod();
    pod.spec!.initContainers = [{ name: "setup", image: "busybox" }];
    await service.putPod(workflows, caller, hub, {
      node: "edge-node",
      pod,
      resolved: { configMaps: {}, secrets: {} },
    });
    const translated = workflows.started[0]?.spec.translated;
    expect(translated?.accepted).toBe(false);
    expect(translated?.accepted === false && translated.problems[0]?.field).toBe("spec.initContainers");
  });

  it("records a replica whose configuration is on the hub as such when it creates its record, and tells the orchestration", async () => {
    const request = (pod: V1Pod) => ({
      node: "edge-node",
      pod,
      resolved: { configMaps: {}, secrets: {} },
    });
    const replica = newPod();
    const translated = translatePod({ hub, ...request(replica) }, defaultNodePolicy);
    const id = translated.accepted ? translated.want.configuration.id : "";
    workflows.view = {
      hub,
      configurations: {
        [id]: {
          id,
          kind: "layered",
          targetCondition: "tags.environment='dev'",
          priority: 20,
          modules: { sensor: "sensor" },
          images: {},
          pods: ["default/sensor-x/uid-x"],
          state: { phase: "OnHub" },
        },
      },
      deploymentsOnHub: 1,
      deploymentLimit: 100,
      counters: { creates: 1, deletes: 0, throttled: 0, coalesced: 0 },
    };
    const answer = await service.putPod(workflows, caller, hub, request(replica));
    const stored = await records.get({
      hub,
      namespace: "default",
      name: replica.metadata!.name!,
      uid: `uid-${uid}`,
    });
    expect(stored?.lifecycle).toEqual({
      stage: "Scheduled",
      configurationId: id,
      configuration: { phase: "OnHub" },
    });
    expect(stored?.configurationId).toBe(id);
    expect(workflows.started[0]?.recorded).toEqual(stored?.lifecycle);
    expect(workflows.started[0]?.configurationOnHub).toBe(id);
    expect(answer.status.configurationId).toBe(id);
    // started again after its orchestration ended: the record is not new, the view not its witness
    workflows.running.clear();
    await service.putPod(workflows, caller, hub, request(replica));
    expect(workflows.started).toHaveLength(2);
    expect(workflows.started[1]?.recorded).toEqual(stored?.lifecycle);
    expect(workflows.started[1]?.configurationOnHub).toBeUndefined();
  });

  it("records a pod its translation refuses as Failed with the field when it creates its record", async () => {
    const pod = newPod();
    pod.spec!.initContainers = [{ name: "setup", image: "busybox" }];
    const answer = await service.putPod(workflows, caller, hub, {
      node: "edge-node",
      pod,
      resolved: { configMaps: {}, secrets: {} },
    });
    expect(answer.status.status.phase).toBe("Failed");
    expect(answer.status.status.message).toContain("spec.initContainers");
    expect(workflows.started[0]?.recorded).toMatchObject({ stage: "Refused" });
  });

  it("a new pod: creates its record and starts its orchestration, reading neither its record nor its instance first", async () => {
    const get = vi.spyOn(records, "get");
    const answer = await service.putPod(workflows, caller, hub, {
      node: "edge-node",
      pod: newPod(),
      resolved: { configMaps: {}, secrets: {} },
    });
    expect(answer.created).toBe(true);
    expect(workflows.calls).toEqual(["start"]);
    expect(get).not.toHaveBeenCalled();
    get.mockRestore();
  });

  it("a known pod: the same spec again starts nothing and sends nothing; after its orchestration ended, starts it again", async () => {
    const request = { node: "edge-node", pod: newPod(), resolved: { configMaps: {}, secrets: {} } };
    await service.putPod(workflows, caller, hub, request);
    const again = await service.putPod(workflows, caller, hub, request);
    expect(again.created).toBe(false);
    expect(workflows.calls).toEqual(["start", "isRunning"]);
    workflows.running.clear();
    const afterFailure = await service.putPod(workflows, caller, hub, request);
    expect(afterFailure.created).toBe(false);
    expect(workflows.calls).toEqual(["start", "isRunning", "isRunning", "start"]);
  });

  it("sends a running pod's changed spec with its translation", async () => {
    const pod = newPod();
    const request = { node: "edge-node", pod, resolved: { configMaps: {}, secrets: {} } };
    await service.putPod(workflows, caller, hub, request);
    const changed = { ...pod, spec: { ...pod.spec!, containers: [{ name: "sensor", image: "sensor:2" }] } };
    await service.putPod(workflows, caller, hub, { ...request, pod: changed });
    expect(workflows.raised).toHaveLength(1);
    const sent = workflows.raised[0]!.data as PodOrchestrationInput["spec"];
    expect(sent.translated).toMatchObject({ accepted: true });
    const started = workflows.started[0]!.spec.translated;
    expect(sent.translated?.accepted && started?.accepted && sent.translated.want.configuration.id).not.toBe(
      started?.accepted && started.want.configuration.id,
    );
  });
});
