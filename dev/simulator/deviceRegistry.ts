// The hub's identity registry and twins: devices, their module identities, and a twin for each
// (tags, desired and reported properties with $version and $metadata, version and etag). Every change
// is announced to a listener, which the simulator turns into routed events. Rendered twin JSON is cached
// per twin and invalidated on change, because queries and metrics read every twin many times.
import { randomBytes } from "node:crypto";
import type { TwinObject } from "../../lib/hub/twinQuery.js";
import {
  HubRestError,
  badRequest,
  deviceNotFound,
  moduleNotFound,
  preconditionFailed,
} from "./restErrors.js";
import { counterEtag, ifMatchSatisfied } from "./etags.js";
import { applyMergePatch, diffAsMergePatch, isJsonObject } from "./jsonMergePatch.js";

/** What changed in one twin: only the touched sections, as a twin change event reports them. */
export interface TwinChange {
  deviceId: string;
  moduleId?: string;
  version: number;
  tags?: TwinObject;
  desired?: TwinObject;
  reported?: TwinObject;
  configurations?: TwinObject;
}

export interface RegistryListener {
  twinChanged(change: TwinChange): void;
  connectionChanged(deviceId: string, connected: boolean, counter: bigint): void;
  identityChanged(deviceId: string, moduleId: string | undefined, created: boolean, twin: TwinObject): void;
}

class TwinState {
  version = 1;
  tags: TwinObject = {};
  desired: TwinObject = {};
  desiredVersion = 1;
  desiredUpdated: string;
  reported: TwinObject = {};
  reportedVersion = 1;
  reportedUpdated: string;
  /** Applied configurations section (`{ "<id>": { status } }`); module twins of $edgeAgent carry it. */
  configurations: TwinObject | undefined;
  rendered: TwinObject | undefined;

  constructor(now: string) {
    this.desiredUpdated = now;
    this.reportedUpdated = now;
  }

  get etag(): string {
    return counterEtag(this.version);
  }
}

export interface ModuleRecord {
  moduleId: string;
  generationId: string;
  managedBy: string;
  twin: TwinState;
}

export interface DeviceRecord {
  deviceId: string;
  generationId: string;
  identityVersion: number;
  iotEdge: boolean;
  connected: boolean;
  connectionStateUpdatedTime: string;
  lastActivityTime: string;
  connectionCounter: bigint;
  primaryKey: string;
  secondaryKey: string;
  twin: TwinState;
  modules: Map<string, ModuleRecord>;
}

// Device and module ids: up to 128 ASCII letters, digits and - . % _ * ? ! ( ) , : = @ $ ' (the hub's rule).
const IDENTITY_ID = /^[A-Za-z0-9\-.%_*?!(),:=@$']{1,128}$/;
const MODULE_ID = /^\$?[A-Za-z0-9\-.%_*?!(),:=@']{1,128}$/;
const NEVER = "0001-01-01T00:00:00Z";

const newKey = () => randomBytes(32).toString("base64");
const newGenerationId = () => `63${randomBytes(8).readBigUInt64BE().toString().slice(0, 16)}`;

function checkIfMatch(ifMatch: string | undefined, etag: string, what: string): void {
  if (!ifMatchSatisfied(ifMatch, etag)) throw preconditionFailed(what);
}

export class DeviceRegistry {
  private readonly devices = new Map<string, DeviceRecord>();
  /** Bumped on every change to any device, module or twin, so derived results (metrics) know when to recompute. */
  changeCount = 0;

  constructor(
    private readonly listener: RegistryListener,
    private readonly now: () => Date,
  ) {}

  private timestamp(): string {
    return this.now().toISOString();
  }

  get size(): number {
    return this.devices.size;
  }

  all(): IterableIterator<DeviceRecord> {
    return this.devices.values();
  }

  has(deviceId: string): boolean {
    return this.devices.has(deviceId);
  }

  get(deviceId: string): DeviceRecord {
    const device = this.devices.get(deviceId);
    if (!device) throw deviceNotFound(deviceId);
    return device;
  }

  module(deviceId: string, moduleId: string): ModuleRecord {
    const module = this.get(deviceId).modules.get(moduleId);
    if (!module) throw moduleNotFound(deviceId, moduleId);
    return module;
  }

  /** Registers a device; IoT Edge devices get their $edgeAgent and $edgeHub module identities at once. */
  create(
    deviceId: string,
    options: { iotEdge: boolean; connected?: boolean; tags?: TwinObject },
  ): DeviceRecord {
    if (!IDENTITY_ID.test(deviceId)) {
      throw badRequest(
        `deviceId '${deviceId}' is invalid: use 1-128 ASCII letters, digits or - . % _ * ? ! ( ) , : = @ $ '`,
      );
    }
    if (this.devices.has(deviceId)) {
      throw new HubRestError(
        409,
        "DeviceAlreadyExists",
        `A device with ID '${deviceId}' is already registered.`,
      );
    }
    const now = this.timestamp();
    const device: DeviceRecord = {
      deviceId,
      generationId: newGenerationId(),
      identityVersion: 1,
      iotEdge: options.iotEdge,
      connected: false,
      connectionStateUpdatedTime: NEVER,
      lastActivityTime: NEVER,
      connectionCounter: 0n,
      primaryKey: newKey(),
      secondaryKey: newKey(),
      twin: new TwinState(now),
      modules: new Map(),
    };
    if (options.tags) {
      applyMergePatch(device.twin.tags, options.tags);
    }
    this.devices.set(deviceId, device);
    this.changeCount += 1;
    this.listener.identityChanged(deviceId, undefined, true, this.deviceTwin(device));
    if (options.iotEdge) {
      this.ensureModule(deviceId, "$edgeAgent");
      this.ensureModule(deviceId, "$edgeHub");
    }
    if (options.connected) this.setConnected(deviceId, true);
    return device;
  }

  delete(deviceId: string, ifMatch?: string): void {
    const device = this.get(deviceId);
    checkIfMatch(ifMatch, counterEtag(device.identityVersion), `device ${deviceId}`);
    this.devices.delete(deviceId);
    this.changeCount += 1;
    this.listener.identityChanged(deviceId, undefined, false, this.deviceTwin(device));
  }

  ensureModule(deviceId: string, moduleId: string): ModuleRecord {
    const device = this.get(deviceId);
    const existing = device.modules.get(moduleId);
    if (existing) return existing;
    if (!MODULE_ID.test(moduleId)) throw badRequest(`moduleId '${moduleId}' is invalid`);
    const module: ModuleRecord = {
      moduleId,
      generationId: newGenerationId(),
      managedBy: moduleId.startsWith("$") ? "" : "IotEdge",
      twin: new TwinState(this.timestamp()),
    };
    device.modules.set(moduleId, module);
    this.changeCount += 1;
    this.listener.identityChanged(deviceId, moduleId, true, this.moduleTwin(device, module));
    return module;
  }

  removeModule(deviceId: string, moduleId: string): void {
    const device = this.get(deviceId);
    const module = device.modules.get(moduleId);
    if (!module) return;
    device.modules.delete(moduleId);
    this.changeCount += 1;
    this.listener.identityChanged(deviceId, moduleId, false, this.moduleTwin(device, module));
  }

  setConnected(deviceId: string, connected: boolean): void {
    const device = this.get(deviceId);
    if (device.connected === connected) return;
    device.connected = connected;
    device.connectionStateUpdatedTime = this.timestamp();
    if (connected) device.lastActivityTime = device.connectionStateUpdatedTime;
    device.connectionCounter += 1n;
    this.changeCount += 1;
    device.twin.rendered = undefined;
    for (const module of device.modules.values()) module.twin.rendered = undefined;
    this.listener.connectionChanged(deviceId, connected, device.connectionCounter);
  }

  /** Service-side twin update (PATCH /twins/{id}): tags and desired properties, merge-patch semantics. */
  patchDeviceTwin(deviceId: string, patch: unknown, ifMatch?: string): TwinObject {
    const device = this.get(deviceId);
    checkIfMatch(ifMatch, device.twin.etag, `the twin of ${deviceId}`);
    this.patchServiceSide(device.twin, patch, deviceId, undefined);
    return this.deviceTwin(device);
  }

  patchModuleTwin(deviceId: string, moduleId: string, patch: unknown, ifMatch?: string): TwinObject {
    const device = this.get(deviceId);
    const module = this.module(deviceId, moduleId);
    checkIfMatch(ifMatch, module.twin.etag, `the twin of ${deviceId}/${moduleId}`);
    this.patchServiceSide(module.twin, patch, deviceId, moduleId);
    return this.moduleTwin(device, module);
  }

  private patchServiceSide(
    twin: TwinState,
    patch: unknown,
    deviceId: string,
    moduleId: string | undefined,
  ): void {
    if (!isJsonObject(patch)) throw badRequest("The twin patch must be a JSON object");
    const { tags, properties } = patch;
    if (tags !== undefined && !isJsonObject(tags)) throw badRequest("tags must be a JSON object");
    if (tags !== undefined && moduleId !== undefined) throw badRequest("Module twins have no tags");
    if (properties !== undefined && !isJsonObject(properties))
      throw badRequest("properties must be a JSON object");
    if (properties?.["reported"] !== undefined) {
      throw badRequest("properties.reported can only be updated by the device");
    }
    const desired = properties?.["desired"];
    if (desired !== undefined && !isJsonObject(desired))
      throw badRequest("properties.desired must be a JSON object");
    const change: TwinChange = { deviceId, ...(moduleId !== undefined && { moduleId }), version: 0 };
    if (tags && applyMergePatch(twin.tags, stripSystemKeys(tags))) change.tags = tags;
    if (desired && applyMergePatch(twin.desired, stripSystemKeys(desired))) {
      twin.desiredVersion += 1;
      twin.desiredUpdated = this.timestamp();
      change.desired = {
        ...stripSystemKeys(desired),
        ...this.sectionSystemKeys(twin.desiredVersion, twin.desiredUpdated),
      };
    }
    this.commit(twin, change);
  }

  /** The hub applying deployment content: the module twin's desired properties are replaced as a whole. */
  replaceDesired(deviceId: string, moduleId: string, desired: TwinObject): void {
    const module = this.module(deviceId, moduleId);
    const twin = module.twin;
    const next = stripSystemKeys(desired);
    const patch = diffForEvent(twin.desired, next);
    if (!patch) return;
    twin.desired = structuredClone(next);
    twin.desiredVersion += 1;
    twin.desiredUpdated = this.timestamp();
    this.commit(twin, {
      deviceId,
      moduleId,
      version: 0,
      desired: { ...patch, ...this.sectionSystemKeys(twin.desiredVersion, twin.desiredUpdated) },
    });
  }

  /** A device (its edgeAgent) reporting: merge patch into reported properties. */
  patchReported(deviceId: string, moduleId: string, patch: TwinObject): void {
    const device = this.get(deviceId);
    const module = this.module(deviceId, moduleId);
    const twin = module.twin;
    if (!applyMergePatch(twin.reported, patch)) return;
    twin.reportedVersion += 1;
    twin.reportedUpdated = this.timestamp();
    device.lastActivityTime = twin.reportedUpdated;
    this.commit(twin, {
      deviceId,
      moduleId,
      version: 0,
      reported: { ...patch, ...this.sectionSystemKeys(twin.reportedVersion, twin.reportedUpdated) },
    });
  }

  setConfigurations(deviceId: string, moduleId: string, configurations: TwinObject): void {
    const twin = this.module(deviceId, moduleId).twin;
    const patch = diffForEvent(twin.configurations ?? {}, configurations);
    if (!patch) return;
    twin.configurations = structuredClone(configurations);
    this.commit(twin, { deviceId, moduleId, version: 0, configurations: patch });
  }

  private commit(twin: TwinState, change: TwinChange): void {
    if (!change.tags && !change.desired && !change.reported && !change.configurations) return;
    twin.version += 1;
    twin.rendered = undefined;
    this.changeCount += 1;
    change.version = twin.version;
    this.listener.twinChanged(change);
  }

  private sectionSystemKeys(version: number, updated: string): TwinObject {
    return { $metadata: { $lastUpdated: updated }, $version: version };
  }

  private properties(twin: TwinState): TwinObject {
    return {
      desired: {
        ...twin.desired,
        ...this.sectionSystemKeys(twin.desiredVersion, twin.desiredUpdated),
      },
      reported: {
        ...twin.reported,
        ...this.sectionSystemKeys(twin.reportedVersion, twin.reportedUpdated),
      },
    };
  }

  /** The device twin as GET /twins/{id} returns it (cached until the twin changes). */
  deviceTwin(device: DeviceRecord): TwinObject {
    device.twin.rendered ??= {
      deviceId: device.deviceId,
      etag: device.twin.etag,
      deviceEtag: counterEtag(device.identityVersion),
      status: "enabled",
      statusUpdateTime: NEVER,
      connectionState: device.connected ? "Connected" : "Disconnected",
      lastActivityTime: device.lastActivityTime,
      cloudToDeviceMessageCount: 0,
      authenticationType: "sas",
      x509Thumbprint: { primaryThumbprint: null, secondaryThumbprint: null },
      modelId: "",
      version: device.twin.version,
      tags: structuredClone(device.twin.tags),
      properties: this.properties(device.twin),
      capabilities: { iotEdge: device.iotEdge },
    };
    return device.twin.rendered;
  }

  /** A module twin as GET /twins/{id}/modules/{moduleId} returns it (cached until it changes). */
  moduleTwin(device: DeviceRecord, module: ModuleRecord): TwinObject {
    module.twin.rendered ??= {
      deviceId: device.deviceId,
      moduleId: module.moduleId,
      etag: module.twin.etag,
      deviceEtag: counterEtag(device.identityVersion),
      status: "enabled",
      statusUpdateTime: NEVER,
      connectionState: device.connected ? "Connected" : "Disconnected",
      lastActivityTime: device.lastActivityTime,
      cloudToDeviceMessageCount: 0,
      authenticationType: "sas",
      x509Thumbprint: { primaryThumbprint: null, secondaryThumbprint: null },
      modelId: "",
      version: module.twin.version,
      properties: this.properties(module.twin),
      ...(module.twin.configurations && { configurations: structuredClone(module.twin.configurations) }),
    };
    return module.twin.rendered;
  }

  /** The device identity as GET /devices/{id} returns it. */
  deviceIdentity(device: DeviceRecord): TwinObject {
    return {
      deviceId: device.deviceId,
      generationId: device.generationId,
      etag: counterEtag(device.identityVersion),
      connectionState: device.connected ? "Connected" : "Disconnected",
      status: "enabled",
      statusReason: null,
      connectionStateUpdatedTime: device.connectionStateUpdatedTime,
      statusUpdatedTime: NEVER,
      lastActivityTime: device.lastActivityTime,
      cloudToDeviceMessageCount: 0,
      authentication: {
        symmetricKey: { primaryKey: device.primaryKey, secondaryKey: device.secondaryKey },
        x509Thumbprint: { primaryThumbprint: null, secondaryThumbprint: null },
        type: "sas",
      },
      capabilities: { iotEdge: device.iotEdge },
    };
  }
}

function stripSystemKeys(section: TwinObject): TwinObject {
  const { $metadata: _metadata, $version: _version, ...rest } = section;
  return rest;
}

/** The merge patch between two sections for an event, or undefined when nothing changed. */
function diffForEvent(before: TwinObject, after: TwinObject): TwinObject | undefined {
  const patch = diffAsMergePatch(before, after);
  return Object.keys(patch).length > 0 ? patch : undefined;
}
