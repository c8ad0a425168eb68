// The status model as a table: lifecycle and fleet status in, Kubernetes pod status out.
import { describe, expect, it } from "vitest";
import { derivePodStatus, FLEET_CONDITION, type PodContainers } from "../../lib/status/podStatus.js";
import type { FleetStatus, PodLifecycle } from "../../lib/status/statusContract.js";

const pod: PodContainers = {
  containers: [
    { name: "temp-sensor", image: "mcr.microsoft.com/azureiotedge-simulated-temperature-sensor:1.5" },
  ],
  moduleNames: { "temp-sensor": "tempSensor" },
};

const onHub: PodLifecycle = { stage: "Scheduled", configurationId: "c1", configuration: { phase: "OnHub" } };

function fleet(counts: Partial<FleetStatus["counts"]>, extra: Partial<FleetStatus> = {}): FleetStatus {
  const full = { targeted: 0, applied: 0, running: 0, failed: 0, offline: 0, ...counts };
  return {
    configurationId: "c1",
    counts: full,
    modules: {
      tempSensor: {
        running: full.running,
        restartCount: 0,
        ...(full.running > 0 && {
          worst: {
            deviceId: "dev-1",
            state: { runtimeStatus: "running", lastStartTimeUtc: "2026-11-25T10:00:00Z" },
          },
        }),
      },
    },
    failures: [],
    computedAt: "2026-11-25T10:05:00Z",
    source: "events",
    version: 1,
    ...extra,
  };
}

function conditions(status: ReturnType<typeof derivePodStatus>): Record<string, string> {
  return Object.fromEntries((status.conditions ?? []).map((c) => [c.type, c.status]));
}

describe("pod phase, reason and message", () => {
  const table: [string, PodLifecycle, FleetStatus | undefined, string, string | undefined, string][] = [
    [
      "accepted",
      { stage: "Accepted" },
      undefined,
      "Pending",
      "Accepted",
      "accepted; translating to an IoT Edge deployment",
    ],
    [
      "refused by translation",
      {
        stage: "Refused",
        problems: [{ field: "spec.initContainers", reason: "IoT Edge has no init containers" }],
      },
      undefined,
      "Failed",
      "UnsupportedPod",
      "refused: spec.initContainers: IoT Edge has no init containers",
    ],
    [
      "refused by the node's fleet policy",
      {
        stage: "Refused",
        reason: "NamespaceNotAllowed",
        node: "plant-a",
        problems: [{ field: "metadata.namespace", reason: "namespace x may not use node plant-a" }],
      },
      undefined,
      "Failed",
      "NamespaceNotAllowed",
      "refused by the fleet policy of node plant-a: metadata.namespace: namespace x may not use node plant-a",
    ],
    [
      "refused by the hub's scheduler: another workload's module",
      {
        stage: "Scheduled",
        configurationId: "c1",
        configuration: { phase: "Refused", reason: "ModuleNameConflict", message: 'module "sensor" ...' },
      },
      undefined,
      "Failed",
      "ModuleNameConflict",
      'refused: module "sensor" ...',
    ],
    [
      "waiting for the hub's budget",
      {
        stage: "Scheduled",
        configurationId: "c1",
        configuration: { phase: "WaitingForHubBudget", position: 3 },
      },
      undefined,
      "Pending",
      "WaitingForHubBudget",
      "waiting for the hub's configuration budget: number 3 in line",
    ],
    [
      "the hub is full",
      {
        stage: "Scheduled",
        configurationId: "c1",
        configuration: { phase: "HubDeploymentLimit", used: 100, limit: 100 },
      },
      undefined,
      "Pending",
      "HubDeploymentLimit",
      "the hub holds 100 of its 100 deployments; waiting for a free one",
    ],
    [
      "being created",
      { stage: "Scheduled", configurationId: "c1", configuration: { phase: "Creating" } },
      undefined,
      "Pending",
      "CreatingDeployment",
      "creating the deployment on the hub",
    ],
    [
      "refused by the hub",
      {
        stage: "Scheduled",
        configurationId: "c1",
        configuration: { phase: "Refused", message: "content too large" },
      },
      undefined,
      "Failed",
      "DeploymentRefused",
      "the hub refused the deployment: content too large",
    ],
    [
      "on the hub, no fleet status yet",
      onHub,
      undefined,
      "Pending",
      "NoDevicesTargeted",
      "no device matches the target condition",
    ],
    [
      "on the hub, no device targeted",
      onHub,
      fleet({}),
      "Pending",
      "NoDevicesTargeted",
      "no device matches the target condition",
    ],
    [
      "applying on devices",
      onHub,
      fleet({ targeted: 5, applied: 2 }),
      "Pending",
      "ApplyingOnDevices",
      "running on 0/5 devices, 2 applied",
    ],
    [
      "running on one device",
      onHub,
      fleet({ targeted: 1, applied: 1, running: 1 }),
      "Running",
      undefined,
      "running on 1/1 device",
    ],
    [
      "running with a failure and an offline device",
      onHub,
      fleet(
        { targeted: 5, applied: 5, running: 4, failed: 1, offline: 1 },
        { failures: [{ deviceId: "dev-3", module: "tempSensor", reason: "backoff" }] },
      ),
      "Running",
      undefined,
      "running on 4/5 devices, 1 failed: tempSensor backoff on dev-3, 1 offline",
    ],
    [
      "failures beyond those named",
      onHub,
      fleet(
        { targeted: 9, applied: 9, running: 0, failed: 9 },
        { failures: [{ deviceId: "dev-1", reason: "edgeAgent rejected the deployment (400)" }] },
      ),
      "Pending",
      "ApplyingOnDevices",
      "running on 0/9 devices, 9 failed: edgeAgent rejected the deployment (400) on dev-1, ...",
    ],
    [
      "deleting while running",
      { stage: "Deleting" },
      fleet({ targeted: 2, applied: 2, running: 2 }),
      "Running",
      undefined,
      "deleting; running on 2/2 devices",
    ],
    [
      "releasing keeps showing the devices",
      {
        stage: "Scheduled",
        configurationId: "c1",
        configuration: { phase: "Releasing", deleteAfter: "2026-11-25T10:10:00Z" },
      },
      fleet({ targeted: 2, applied: 2, running: 2 }),
      "Running",
      undefined,
      "running on 2/2 devices",
    ],
  ];

  it.each(table)("%s", (_name, lifecycle, fleetStatus, phase, reason, message) => {
    const status = derivePodStatus(lifecycle, fleetStatus, pod);
    expect(status.phase).toBe(phase);
    expect(status.reason).toBe(reason);
    expect(status.message).toBe(message);
  });
});

describe("pod conditions", () => {
  it("a pod waiting for budget is not scheduled, with the waiting reason", () => {
    const status = derivePodStatus(
      {
        stage: "Scheduled",
        configurationId: "c1",
        configuration: { phase: "WaitingForHubBudget", position: 1 },
      },
      undefined,
      pod,
    );
    expect(status.conditions).toContainEqual({
      type: "PodScheduled",
      status: "False",
      reason: "WaitingForHubBudget",
    });
    expect(conditions(status)).toEqual({
      PodScheduled: "False",
      Initialized: "False",
      ContainersReady: "False",
      Ready: "False",
    });
  });

  it("a pod not on the hub while the hub throttles or fails for long says so and since when, with the waiting message after", () => {
    const waiting: PodLifecycle = {
      stage: "Scheduled",
      configurationId: "c1",
      configuration: { phase: "WaitingForHubBudget", position: 2 },
    };
    const since = "2026-12-03T16:00:00.000Z";
    const throttled = derivePodStatus(waiting, undefined, pod, { kind: "Throttled", since });
    expect(throttled).toMatchObject({
      phase: "Pending",
      reason: "HubThrottling",
      message: `the hub has throttled the connector's configuration operations (429) since ${since}; waiting for the hub's configuration budget: number 2 in line`,
    });
    expect(throttled.conditions).toContainEqual({
      type: "PodScheduled",
      status: "False",
      reason: "HubThrottling",
    });
    const creating: PodLifecycle = {
      stage: "Scheduled",
      configurationId: "c1",
      configuration: { phase: "Creating" },
    };
    expect(derivePodStatus(creating, undefined, pod, { kind: "Unavailable", since })).toMatchObject({
      phase: "Pending",
      reason: "HubUnavailable",
      message: `the hub has not accepted the connector's configuration operations since ${since}; creating the deployment on the hub`,
    });
  });

  it("a pod already on the hub does not change while the hub has trouble: its devices run it", () => {
    const running = fleet({ targeted: 3, applied: 3, running: 3 });
    expect(
      derivePodStatus(onHub, running, pod, { kind: "Unavailable", since: "2026-12-03T16:00:00.000Z" }),
    ).toEqual(derivePodStatus(onHub, running, pod));
  });

  it("a pod running on every targeted device is ready, and the fleet condition carries the counts", () => {
    const status = derivePodStatus(onHub, fleet({ targeted: 3, applied: 3, running: 3 }), pod);
    expect(conditions(status)).toEqual({
      PodScheduled: "True",
      Initialized: "True",
      ContainersReady: "True",
      Ready: "True",
      [FLEET_CONDITION]: "True",
    });
    expect(status.conditions?.find((c) => c.type === FLEET_CONDITION)).toEqual({
      type: FLEET_CONDITION,
      status: "True",
      reason: "RunningOnAllDevices",
      message: "targeted 3, applied 3, running 3, failed 0, offline 0",
    });
  });

  it("a pod running on some devices is Running but not Ready", () => {
    const status = derivePodStatus(onHub, fleet({ targeted: 3, applied: 3, running: 2 }), pod);
    expect(status.phase).toBe("Running");
    expect(conditions(status)).toMatchObject({ Ready: "False", [FLEET_CONDITION]: "False" });
  });
});

describe("container statuses", () => {
  it("a module running on every applied device is a ready running container", () => {
    const [container] = derivePodStatus(
      onHub,
      fleet({ targeted: 2, applied: 2, running: 2 }),
      pod,
    ).containerStatuses!;
    expect(container).toEqual({
      name: "temp-sensor",
      image: pod.containers[0]!.image,
      imageID: "",
      ready: true,
      started: true,
      restartCount: 0,
      state: { running: { startedAt: new Date("2026-11-25T10:00:00Z") } },
    });
  });

  it("a module running on every applied device where a higher layer does not override it is ready", () => {
    const status = fleet({ targeted: 3, applied: 3, running: 3 });
    status.modules["tempSensor"] = { ...status.modules["tempSensor"]!, running: 2, overridden: 1 };
    const [container] = derivePodStatus(onHub, status, pod).containerStatuses!;
    expect(container!.ready).toBe(true);
  });

  it("a module in backoff somewhere is waiting with the device's description, restarts summed and the last exit", () => {
    const status = fleet(
      { targeted: 2, applied: 2, running: 1, failed: 1 },
      {
        modules: {
          tempSensor: {
            running: 1,
            restartCount: 7,
            worst: {
              deviceId: "dev-3",
              state: {
                runtimeStatus: "backoff",
                exitCode: 139,
                statusDescription: "module exited with code 139",
              },
            },
            lastTermination: {
              deviceId: "dev-3",
              exitCode: 139,
              finishedAt: "2026-11-25T10:04:00Z",
              reason: "Error",
            },
          },
        },
      },
    );
    const [container] = derivePodStatus(onHub, status, pod).containerStatuses!;
    expect(container).toMatchObject({
      ready: false,
      started: false,
      restartCount: 7,
      state: { waiting: { reason: "Backoff", message: "module exited with code 139 (on dev-3)" } },
      lastState: {
        terminated: {
          exitCode: 139,
          reason: "Error",
          message: "on dev-3",
          finishedAt: new Date("2026-11-25T10:04:00Z"),
        },
      },
    });
  });

  it("a failed module is a terminated container with its exit code", () => {
    const status = fleet(
      { targeted: 1, applied: 1, failed: 1 },
      {
        modules: {
          tempSensor: {
            running: 0,
            restartCount: 0,
            worst: {
              deviceId: "dev-1",
              state: { runtimeStatus: "failed", exitCode: 1, lastExitTimeUtc: "2026-11-25T10:03:00Z" },
            },
          },
        },
      },
    );
    const [container] = derivePodStatus(onHub, status, pod).containerStatuses!;
    expect(container!.state).toEqual({
      terminated: {
        exitCode: 1,
        reason: "Failed",
        message: "failed (on dev-1)",
        finishedAt: new Date("2026-11-25T10:03:00Z"),
      },
    });
  });

  it("before any device applied the deployment a container is initializing; applied but not reported, creating", () => {
    const waiting = derivePodStatus(onHub, fleet({ targeted: 2 }), pod).containerStatuses![0]!;
    expect(waiting.state).toEqual({ waiting: { reason: "PodInitializing" } });
    const creating = derivePodStatus(onHub, fleet({ targeted: 2, applied: 1 }), pod).containerStatuses![0]!;
    expect(creating.state).toEqual({ waiting: { reason: "ContainerCreating" } });
  });

  it("a refused pod lists its containers as not ready and never started", () => {
    const status = derivePodStatus(
      { stage: "Refused", problems: [{ field: "spec.x", reason: "bad" }] },
      undefined,
      pod,
    );
    expect(status.containerStatuses).toEqual([
      expect.objectContaining({ name: "temp-sensor", ready: false, started: false, restartCount: 0 }),
    ]);
  });

  it("is pure: the same inputs give the same status", () => {
    const input = fleet({ targeted: 2, applied: 2, running: 1 });
    expect(derivePodStatus(onHub, input, pod)).toEqual(derivePodStatus(onHub, structuredClone(input), pod));
  });
});

describe("a replica of a Deployment mid-rollout (staged)", () => {
  const staged: PodLifecycle = { ...onHub, rollout: { percent: 12 } };

  it("says its share of the fleet and the buckets its stage holds", () => {
    const status = derivePodStatus(staged, fleet({ targeted: 1000, applied: 1000, running: 120 }), pod);
    expect(status.message).toBe("running on 120/1,000 devices, buckets 0-11");
  });

  it("is Ready when every connected device of its stage runs it, though the module is not on every applied device", () => {
    const status = derivePodStatus(
      staged,
      fleet({ targeted: 120, applied: 120, running: 118, offline: 2 }),
      pod,
    );
    expect(conditions(status)).toMatchObject({ Ready: "True", ContainersReady: "True" });
    expect(status.conditions?.find((c) => c.type === "Ready")?.reason).toBe("StageRunning");
  });

  it("stays unready while a device of its stage fails, with the failure in its message", () => {
    const status = derivePodStatus(
      staged,
      fleet(
        { targeted: 120, applied: 120, running: 119, failed: 1 },
        { failures: [{ deviceId: "dev-7", module: "tempSensor", reason: "backoff" }] },
      ),
      pod,
    );
    expect(conditions(status)).toMatchObject({ Ready: "False" });
    expect(status.conditions?.find((c) => c.type === "Ready")?.reason).toBe("StageNotRunning");
    expect(status.message).toBe(
      "running on 119/120 devices, buckets 0-11, 1 failed: tempSensor backoff on dev-7",
    );
  });

  it("stays unready while its stage's devices are still applying", () => {
    const status = derivePodStatus(staged, fleet({ targeted: 120, applied: 60, running: 60 }), pod);
    expect(conditions(status)).toMatchObject({ Ready: "False" });
  });

  describe("whose stage's buckets hold no device", () => {
    const stageCondition = "(tags.site = 'north') AND tags.iotEdgeConnectorRolloutBucket < 34";
    const firstStage: PodLifecycle = {
      ...onHub,
      rollout: { percent: 34, targetCondition: stageCondition },
    };
    const ready = (status: ReturnType<typeof derivePodStatus>) =>
      status.conditions?.find((c) => c.type === "Ready");

    it("is Running and Ready once its stage's own target condition was evaluated and holds no device", () => {
      const status = derivePodStatus(firstStage, fleet({}, { targetCondition: stageCondition }), pod);
      expect(status.phase).toBe("Running");
      expect(status.message).toBe("stage buckets 0-33 holds no device");
      expect(ready(status)).toMatchObject({ status: "True", reason: "StageRunning" });
      expect(conditions(status)).toMatchObject({ ContainersReady: "True" });
    });

    it("is not Ready while its status still belongs to the previous stage's target condition", () => {
      const previous = "(tags.site = 'north') AND tags.iotEdgeConnectorRolloutBucket < 10";
      const status = derivePodStatus(firstStage, fleet({}, { targetCondition: previous }), pod);
      expect(status.phase).toBe("Pending");
      expect(status.reason).toBe("NoDevicesTargeted");
      expect(ready(status)).toMatchObject({ status: "False", reason: "StageNotRunning" });
    });

    it("is not Ready before any status exists", () => {
      const status = derivePodStatus(firstStage, undefined, pod);
      expect(status.reason).toBe("NoDevicesTargeted");
      expect(ready(status)).toMatchObject({ status: "False", reason: "StageNotRunning" });
    });

    it("is not Ready from a status that does not say which target condition it counted", () => {
      const status = derivePodStatus(firstStage, fleet({}), pod);
      expect(ready(status)).toMatchObject({ status: "False" });
    });

    it("leaves a whole-scope pod with no device targeted Pending (NoDevicesTargeted)", () => {
      const status = derivePodStatus(onHub, fleet({}, { targetCondition: "tags.site = 'north'" }), pod);
      expect(status.phase).toBe("Pending");
      expect(status.reason).toBe("NoDevicesTargeted");
      expect(ready(status)).toMatchObject({ status: "False" });
    });
  });
});
