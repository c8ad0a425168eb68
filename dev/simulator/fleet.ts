// The simulated hub's deployment engine and its fleet of IoT Edge devices. On a cadence (the real hub
// takes up to five minutes; 2 s here by default) and on demand, every device's deployments are selected
// and merged and the result written to its module twins' desired properties and to $edgeAgent's
// applied-configurations section; each device's edgeAgent then applies it and reports back. A device
// that no deployment targets any more keeps what it last received, as on IoT Hub.
import { isDeepStrictEqual } from "node:util";
import type { TwinObject } from "../../lib/hub/twinQuery.js";
import type { ConfigurationStore } from "./configurationStore.js";
import { configurationsSection, mergeDeployments, selectDeployments } from "./deploymentMerge.js";
import type { DeviceRegistry, TwinChange } from "./deviceRegistry.js";
import { badRequest } from "./restErrors.js";
import { isJsonObject } from "./jsonMergePatch.js";
import { SimulatedEdgeAgent, type ModuleFault, type RuntimeTimings } from "./simulatedEdgeAgent.js";

export interface DeviceSeed {
  deviceId: string;
  tags?: TwinObject;
  /** Connected at start (default true). */
  online?: boolean;
}

export interface FleetOptions {
  evaluationIntervalMs: number;
  /** How often module runtimes advance (image pulls finishing, crashes, restarts). */
  runtimeStepMs: number;
  timings: RuntimeTimings;
  now: () => Date;
}

const SYSTEM_MODULE_TWINS = new Set(["$edgeAgent", "$edgeHub"]);

export class Fleet {
  private readonly agents = new Map<string, SimulatedEdgeAgent>();
  /** Faults of an image wherever it runs (injectImageFault). */
  private readonly imageFaults = new Map<string, ModuleFault>();
  /** Per device: the deployments last applied (ids with creation sequence), to skip unchanged devices. */
  private readonly appliedSelection = new Map<string, string>();
  private evaluationTimer: NodeJS.Timeout | undefined;
  private runtimeTimer: NodeJS.Timeout | undefined;
  /** Duration of the last full evaluation, for benchmarks and stats. */
  lastEvaluationMs = 0;

  constructor(
    private readonly registry: DeviceRegistry,
    private readonly configurations: ConfigurationStore,
    private readonly options: FleetOptions,
  ) {}

  start(): void {
    this.evaluationTimer = setInterval(() => this.evaluateAll(), this.options.evaluationIntervalMs);
    this.runtimeTimer = setInterval(() => this.stepRuntimes(), this.options.runtimeStepMs);
    this.evaluationTimer.unref();
    this.runtimeTimer.unref();
  }

  stop(): void {
    clearInterval(this.evaluationTimer);
    clearInterval(this.runtimeTimer);
  }

  /** Registers a simulated IoT Edge device; deployments reach it at the next evaluation. */
  addDevice(seed: DeviceSeed): void {
    const online = seed.online ?? true;
    this.registry.create(seed.deviceId, {
      iotEdge: true,
      connected: online,
      ...(seed.tags && { tags: seed.tags }),
    });
    this.attachAgent(seed.deviceId, online);
  }

  /** Gives a device created through the REST API (capabilities.iotEdge) its simulated edgeAgent. */
  attachAgent(deviceId: string, online: boolean): void {
    this.agents.set(
      deviceId,
      new SimulatedEdgeAgent(
        deviceId,
        this.registry,
        this.options.now,
        this.options.timings,
        online,
        this.imageFaults,
      ),
    );
  }

  forgetDevice(deviceId: string): void {
    this.agents.delete(deviceId);
    this.appliedSelection.delete(deviceId);
  }

  /** Merges the given tags into the device twin (null removes a tag), as a service-side twin update. */
  setTags(deviceId: string, tags: TwinObject): void {
    this.registry.patchDeviceTwin(deviceId, { tags });
  }

  setOnline(deviceId: string, online: boolean): void {
    this.registry.setConnected(deviceId, online);
    this.agent(deviceId).setOnline(online);
  }

  injectFault(deviceId: string, moduleName: string, fault: ModuleFault): void {
    this.agent(deviceId).injectFault(moduleName, fault);
  }

  /** Every module with this image, on every device, from its next start or pull (a bad release). */
  injectImageFault(image: string, fault: ModuleFault): void {
    this.imageFaults.set(image, fault);
  }

  clearFault(deviceId: string, moduleName: string): void {
    this.agent(deviceId).clearFault(moduleName);
  }

  agent(deviceId: string): SimulatedEdgeAgent {
    this.registry.get(deviceId);
    const agent = this.agents.get(deviceId);
    if (!agent) throw badRequest(`Device ${deviceId} is not an IoT Edge device`);
    return agent;
  }

  /** Called for every twin change: a new $edgeAgent desired version goes to the device's agent. */
  twinChanged(change: TwinChange): void {
    if (change.moduleId === "$edgeAgent" && change.desired)
      this.agents.get(change.deviceId)?.desiredChanged();
  }

  /** Evaluates every device now, as the hub's periodic evaluation does. */
  evaluateAll(): void {
    const started = performance.now();
    const configurations = this.configurations.all();
    for (const deviceId of this.agents.keys()) this.evaluateDevice(deviceId, configurations);
    this.lastEvaluationMs = performance.now() - started;
  }

  private evaluateDevice(deviceId: string, configurations: ReturnType<ConfigurationStore["all"]>): void {
    const device = this.registry.get(deviceId);
    const selection = selectDeployments(configurations, this.registry.deviceTwin(device));
    const key = [selection.base, ...selection.layered, ...selection.outranked]
      .map((c) => (c ? `${c.id}#${c.creationSequence}` : "-"))
      .join(",");
    if (this.appliedSelection.get(deviceId) === key) return;
    this.appliedSelection.set(deviceId, key);
    if (selection.base || selection.layered.length > 0)
      this.writeDesired(deviceId, mergeDeployments(selection));
    this.registry.setConfigurations(deviceId, "$edgeAgent", configurationsSection(selection));
  }

  /** applyConfigurationContentOnDevice: the content goes to this device at once, outside any deployment. */
  applyContent(deviceId: string, content: unknown): void {
    this.agent(deviceId); // refuses unknown and non-edge devices
    if (!isJsonObject(content) || !isJsonObject(content["modulesContent"])) {
      throw badRequest(
        "content.modulesContent is required to apply configuration content to an IoT Edge device",
      );
    }
    const desired = new Map<string, TwinObject>();
    for (const [moduleId, moduleContent] of Object.entries(content["modulesContent"])) {
      const value = isJsonObject(moduleContent) ? moduleContent["properties.desired"] : undefined;
      if (!isJsonObject(value))
        throw badRequest(`content.modulesContent.${moduleId}['properties.desired'] must be an object`);
      desired.set(moduleId, value);
    }
    this.writeDesired(deviceId, desired);
  }

  private writeDesired(deviceId: string, desired: Map<string, TwinObject>): void {
    const agentDesired = desired.get("$edgeAgent") ?? {};
    const modules = isJsonObject(agentDesired["modules"]) ? Object.keys(agentDesired["modules"]) : [];
    const wantedTwins = new Set([...SYSTEM_MODULE_TWINS, ...modules, ...desired.keys()]);
    const device = this.registry.get(deviceId);
    for (const moduleId of [...device.modules.keys()]) {
      if (!wantedTwins.has(moduleId)) this.registry.removeModule(deviceId, moduleId);
    }
    // Module twins first, $edgeAgent last: its desired change is what makes the agent act.
    for (const moduleId of [...wantedTwins].sort((a, b) =>
      a === "$edgeAgent" ? 1 : b === "$edgeAgent" ? -1 : 0,
    )) {
      this.registry.ensureModule(deviceId, moduleId);
      const next = desired.get(moduleId);
      if (next && !isDeepStrictEqual(next, this.registry.module(deviceId, moduleId).twin.desired)) {
        this.registry.replaceDesired(deviceId, moduleId, next);
      }
    }
  }

  private stepRuntimes(): void {
    const now = this.options.now().getTime();
    for (const agent of this.agents.values()) {
      const due = agent.nextDueAt();
      if (due !== undefined && due <= now) agent.step();
    }
  }

  /** Number of simulated edge devices. */
  get size(): number {
    return this.agents.size;
  }
}
