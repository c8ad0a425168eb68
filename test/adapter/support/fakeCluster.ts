// A small Kubernetes API server for the adapter's in-process tests, so they need no control plane:
// the surface the adapter uses (pods with their status subresource and graceful deletion, nodes with
// theirs, leases, events, configmaps, secrets, replicasets, deployments), in memory, over HTTP on 127.0.0.1, for the real
// @kubernetes/client-node clients and informer. Where the adapter can tell, it behaves as the real
// one: one resourceVersion counter for every change, Status errors (404, 409 on a name taken, a
// stale resourceVersion or a failed uid precondition), no-op writes that change nothing, list with a
// fieldSelector, and watch from a resourceVersion as JSON lines of ADDED/MODIFIED/DELETED (an object
// leaving the selector is DELETED). No authentication, admission, defaulting beyond a pod's phase and
// grace period, or Namespace objects; what it does not implement it refuses (400/404/405/415) rather
// than ignores.
import { randomBytes, randomUUID } from "node:crypto";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import { isDeepStrictEqual } from "node:util";
import { KubeConfig } from "@kubernetes/client-node";
import type { TwinObject } from "../../../lib/hub/twinQuery.js";
import { applyMergePatch, isJsonObject } from "../../../dev/simulator/jsonMergePatch.js";

interface ObjectMeta {
  name?: string;
  generateName?: string;
  namespace?: string;
  uid?: string;
  resourceVersion?: string;
  creationTimestamp?: string;
  deletionTimestamp?: string;
  deletionGracePeriodSeconds?: number;
  [field: string]: unknown;
}

export interface KubeObject {
  apiVersion?: string;
  kind?: string;
  metadata: ObjectMeta;
  spec?: Record<string, unknown>;
  status?: Record<string, unknown>;
  [field: string]: unknown;
}

interface ResourceType {
  apiVersion: string;
  plural: string;
  kind: string;
  namespaced: boolean;
  /** spec and status are written through different endpoints */
  statusSubresource: boolean;
  /** field selectors it accepts besides metadata.name and metadata.namespace */
  fields: string[];
}

const resourceTypes: ResourceType[] = [
  {
    apiVersion: "v1",
    plural: "pods",
    kind: "Pod",
    namespaced: true,
    statusSubresource: true,
    fields: ["spec.nodeName", "status.phase"],
  },
  { apiVersion: "v1", plural: "nodes", kind: "Node", namespaced: false, statusSubresource: true, fields: [] },
  {
    apiVersion: "v1",
    plural: "events",
    kind: "Event",
    namespaced: true,
    statusSubresource: false,
    fields: ["involvedObject.name", "involvedObject.namespace", "involvedObject.uid", "reason", "type"],
  },
  {
    apiVersion: "v1",
    plural: "configmaps",
    kind: "ConfigMap",
    namespaced: true,
    statusSubresource: false,
    fields: [],
  },
  {
    apiVersion: "v1",
    plural: "secrets",
    kind: "Secret",
    namespaced: true,
    statusSubresource: false,
    fields: ["type"],
  },
  {
    apiVersion: "apps/v1",
    plural: "replicasets",
    kind: "ReplicaSet",
    namespaced: true,
    statusSubresource: true,
    fields: [],
  },
  {
    apiVersion: "apps/v1",
    plural: "deployments",
    kind: "Deployment",
    namespaced: true,
    statusSubresource: true,
    fields: [],
  },
  {
    apiVersion: "coordination.k8s.io/v1",
    plural: "leases",
    kind: "Lease",
    namespaced: true,
    statusSubresource: false,
    fields: [],
  },
];

/** Every request as it arrived, for tests that check what the adapter asked for. */
export interface RecordedRequest {
  method: string;
  path: string;
  query: URLSearchParams;
  contentType: string | undefined;
  body: unknown;
}

/** A GET answered late, with the object as it was when asked (a read racing a write). */
export interface HeldGet {
  /** resolves with the answer once the GET has come in */
  readonly asked: Promise<KubeObject>;
  /** sends the answer */
  release(): void;
}

interface Change {
  type: ResourceType;
  resourceVersion: number;
  previous: KubeObject | undefined;
  /** the object after the change; for a deletion its last state */
  object: KubeObject;
  deleted: boolean;
}

interface WatchEvent {
  type: "ADDED" | "MODIFIED" | "DELETED";
  object: KubeObject;
}

interface Watcher {
  type: ResourceType;
  matches: (object: KubeObject) => boolean;
  send: (event: WatchEvent) => void;
}

class StatusError extends Error {
  constructor(
    readonly code: number,
    readonly reason: string,
    message: string,
    readonly details?: { name?: string; kind?: string },
  ) {
    super(message);
  }
}

const pathPattern =
  /^\/(?:api\/(?<core>v1)|apis\/(?<group>[^/]+)\/(?<version>[^/]+))(?:\/namespaces\/(?<namespace>[^/]+))?\/(?<plural>[^/]+)(?:\/(?<name>[^/]+)(?:\/(?<subresource>[^/]+))?)?$/;

/** RFC 3339 at whole seconds, as metav1.Time is written. */
const kubeTime = (date: Date) => date.toISOString().replace(/\.\d+Z$/, "Z");

/** `pods`, `leases.coordination.k8s.io`: how the real apiserver names a resource in its messages. */
const resourceName = (type: ResourceType) =>
  type.apiVersion.includes("/") ? `${type.plural}.${type.apiVersion.split("/")[0]}` : type.plural;

const notFound = (type: ResourceType, name: string) =>
  new StatusError(404, "NotFound", `${resourceName(type)} "${name}" not found`, {
    name,
    kind: type.plural,
  });
const badRequest = (message: string) => new StatusError(400, "BadRequest", message);
const conflict = (type: ResourceType, name: string, why: string) =>
  new StatusError(
    409,
    "Conflict",
    `Operation cannot be fulfilled on ${resourceName(type)} "${name}": ${why}`,
    {
      name,
      kind: type.plural,
    },
  );

export class FakeCluster {
  readonly requests: RecordedRequest[] = [];
  private readonly objects = new Map<ResourceType, Map<string, KubeObject>>(
    resourceTypes.map((type) => [type, new Map()]),
  );
  private readonly changes: Change[] = [];
  private readonly watchers = new Set<Watcher>();
  private revision = 0;
  private readonly holds: { path: string; asked: (answer: KubeObject) => void; released: Promise<void> }[] =
    [];

  private constructor(private readonly server: Server) {}

  static async start(): Promise<FakeCluster> {
    const server = createServer();
    const cluster = new FakeCluster(server);
    server.on("request", (request: IncomingMessage, response: ServerResponse) => {
      cluster.handle(request, response).catch((error: unknown) => {
        const status =
          error instanceof StatusError ? error : new StatusError(500, "InternalError", String(error));
        if (response.headersSent) return void response.destroy();
        respond(response, status.code, {
          kind: "Status",
          apiVersion: "v1",
          metadata: {},
          status: "Failure",
          message: status.message,
          reason: status.reason,
          ...(status.details ? { details: status.details } : {}),
          code: status.code,
        });
      });
    });
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(0, "127.0.0.1", resolve);
    });
    return cluster;
  }

  get url(): string {
    const address = this.server.address();
    return `http://127.0.0.1:${address && typeof address === "object" ? address.port : 0}`;
  }

  /** A kubeconfig for it. client-node allows plain http only with skipTLSVerify. */
  kubeConfig(): KubeConfig {
    const kubeConfig = new KubeConfig();
    kubeConfig.loadFromOptions({
      clusters: [{ name: "fake", server: this.url, skipTLSVerify: true }],
      users: [{ name: "test" }],
      contexts: [{ name: "fake", cluster: "fake", user: "test" }],
      currentContext: "fake",
    });
    return kubeConfig;
  }

  /**
   * Holds the next GET of an object whose path ends with `pathEnding`: it reads the object when
   * the GET comes in and answers only on `release()`, so changes made meanwhile are not in it.
   */
  holdNextGet(pathEnding: string): HeldGet {
    let release = () => {};
    const released = new Promise<void>((resolve) => (release = resolve));
    let asked = (_answer: KubeObject) => {};
    const answered = new Promise<KubeObject>((resolve) => (asked = resolve));
    this.holds.push({ path: pathEnding, asked, released });
    return { asked: answered, release };
  }

  /** Ends every watch and connection. */
  async stop(): Promise<void> {
    this.watchers.clear();
    this.server.closeAllConnections();
    await new Promise((resolve) => this.server.close(resolve));
  }

  private async handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const url = new URL(request.url ?? "/", "http://fake");
    const chunks: Buffer[] = [];
    for await (const chunk of request) chunks.push(chunk as Buffer);
    const text = Buffer.concat(chunks).toString();
    let body: unknown;
    try {
      body = text ? JSON.parse(text) : undefined;
    } catch {
      throw badRequest("the request body is not JSON");
    }
    const method = request.method ?? "GET";
    const contentType = request.headers["content-type"]?.split(";")[0]?.trim();
    this.requests.push({ method, path: url.pathname, query: url.searchParams, contentType, body });

    const route = pathPattern.exec(url.pathname)?.groups;
    const apiVersion = route?.core ?? `${route?.group}/${route?.version}`;
    const type = resourceTypes.find((t) => t.apiVersion === apiVersion && t.plural === route?.plural);
    const { namespace, name, subresource } = route ?? {};
    if (
      !type ||
      (namespace !== undefined && !type.namespaced) ||
      (name !== undefined && type.namespaced && namespace === undefined) ||
      (subresource !== undefined && (subresource !== "status" || !type.statusSubresource))
    ) {
      throw new StatusError(404, "NotFound", "the server could not find the requested resource");
    }
    if (url.searchParams.has("labelSelector")) throw badRequest("this fake apiserver has no labelSelector");
    const key = `${namespace ?? ""}/${name}`;
    if (name === undefined) {
      if (method === "GET" && ["true", "1"].includes(url.searchParams.get("watch") ?? "")) {
        return this.watch(response, type, namespace, url.searchParams);
      }
      if (method === "GET") return respond(response, 200, this.list(type, namespace, url.searchParams));
      if (method === "POST" && (namespace !== undefined || !type.namespaced)) {
        return respond(response, 201, this.create(type, namespace, body));
      }
    } else {
      const current = this.objects.get(type)?.get(key);
      if (!current) throw notFound(type, name);
      switch (method) {
        case "GET":
          return this.answerGet(response, url.pathname, current);
        case "PUT":
          return respond(response, 200, this.update(type, current, body, subresource));
        case "PATCH":
          if (contentType !== "application/merge-patch+json") {
            throw new StatusError(
              415,
              "UnsupportedMediaType",
              `this fake apiserver takes merge patches only`,
            );
          }
          return respond(response, 200, this.patch(type, current, body, subresource));
        case "DELETE":
          if (subresource === undefined) {
            return respond(response, 200, this.delete(type, current, body, url.searchParams));
          }
      }
    }
    throw new StatusError(405, "MethodNotAllowed", `${method} is not supported here`);
  }

  private async answerGet(response: ServerResponse, path: string, current: KubeObject): Promise<void> {
    const at = this.holds.findIndex((hold) => path.endsWith(hold.path));
    if (at < 0) return respond(response, 200, current);
    const [hold] = this.holds.splice(at, 1);
    const asOfNow = structuredClone(current);
    hold?.asked(asOfNow);
    await hold?.released;
    respond(response, 200, asOfNow);
  }

  private list(type: ResourceType, namespace: string | undefined, query: URLSearchParams) {
    const matches = this.selector(type, namespace, query);
    const items = [...(this.objects.get(type)?.values() ?? [])]
      .filter(matches)
      .sort((a, b) => objectKey(a).localeCompare(objectKey(b)))
      .map(({ apiVersion: _apiVersion, kind: _kind, ...item }) => item);
    return {
      apiVersion: type.apiVersion,
      kind: `${type.kind}List`,
      metadata: { resourceVersion: String(this.revision) },
      items,
    };
  }

  /** From resourceVersion N: every change after N; without one: the current objects as ADDED. */
  private watch(
    response: ServerResponse,
    type: ResourceType,
    namespace: string | undefined,
    query: URLSearchParams,
  ): void {
    const matches = this.selector(type, namespace, query);
    const since = query.get("resourceVersion") ?? "";
    let backlog: WatchEvent[];
    if (since === "" || since === "0") {
      backlog = [...(this.objects.get(type)?.values() ?? [])]
        .filter(matches)
        .map((object) => ({ type: "ADDED", object }));
    } else {
      const from = Number(since);
      if (!Number.isInteger(from) || from < 0) throw badRequest(`invalid resourceVersion "${since}"`);
      backlog = this.changes
        .filter((change) => change.resourceVersion > from)
        .flatMap((change) => watchEvent(change, type, matches) ?? []);
    }
    response.writeHead(200, { "content-type": "application/json" });
    response.flushHeaders(); // the client's watch waits for the headers before it reads events
    const watcher: Watcher = {
      type,
      matches,
      send: (event) => response.write(`${JSON.stringify(event)}\n`),
    };
    for (const event of backlog) watcher.send(event);
    this.watchers.add(watcher);
    response.once("close", () => this.watchers.delete(watcher));
  }

  private selector(type: ResourceType, namespace: string | undefined, query: URLSearchParams) {
    const terms = (query.get("fieldSelector") ?? "")
      .split(",")
      .filter((term) => term !== "")
      .map((term) => {
        const [, field = "", operator, value] = /^([^!=]+)(==|=|!=)(.*)$/.exec(term) ?? [];
        if (operator === undefined) throw badRequest(`invalid field selector "${term}"`);
        if (!["metadata.name", "metadata.namespace", ...type.fields].includes(field)) {
          throw badRequest(`field label not supported: ${field}`);
        }
        return (object: KubeObject) => (fieldValue(object, field) === value) === (operator !== "!=");
      });
    return (object: KubeObject) =>
      (namespace === undefined || object.metadata.namespace === namespace) &&
      terms.every((term) => term(object));
  }

  private create(type: ResourceType, namespace: string | undefined, body: unknown): KubeObject {
    const object = asObject(type, body);
    const { metadata } = object;
    if (type.namespaced) {
      if (metadata.namespace !== undefined && metadata.namespace !== namespace) {
        throw badRequest(
          "the namespace of the provided object does not match the namespace sent on the request",
        );
      }
      metadata.namespace = namespace;
    } else delete metadata.namespace;
    if (!metadata.name) {
      if (!metadata.generateName) {
        throw new StatusError(
          422,
          "Invalid",
          "metadata.name: Required value: name or generateName is required",
        );
      }
      metadata.name = `${metadata.generateName}${randomBytes(3).toString("hex").slice(0, 5)}`;
    }
    if (this.objects.get(type)?.has(objectKey(object))) {
      throw new StatusError(409, "AlreadyExists", `${resourceName(type)} "${metadata.name}" already exists`, {
        name: metadata.name,
        kind: type.plural,
      });
    }
    metadata.uid = randomUUID();
    metadata.creationTimestamp = kubeTime(new Date());
    delete metadata.deletionTimestamp;
    delete metadata.deletionGracePeriodSeconds;
    if (type.kind === "Pod") {
      // what the apiserver sets on every new pod: no status but Pending, a grace period for deletion
      object.status = { phase: "Pending" };
      object.spec = { terminationGracePeriodSeconds: 30, ...object.spec };
    }
    return this.commit(type, undefined, object);
  }

  /** A write of the object, or of its status only; the other part and the system fields stay. */
  private update(
    type: ResourceType,
    current: KubeObject,
    body: unknown,
    subresource: string | undefined,
  ): KubeObject {
    const object = asObject(type, body);
    const { name, resourceVersion } = object.metadata;
    if (name !== current.metadata.name) {
      throw badRequest(`the name of the object (${name}) does not match the name on the URL`);
    }
    if (resourceVersion !== undefined && resourceVersion !== current.metadata.resourceVersion) {
      throw conflict(
        type,
        current.metadata.name ?? "",
        "the object has been modified; please apply your changes to the latest version and try again",
      );
    }
    let next: KubeObject;
    if (subresource === "status") {
      next = { ...structuredClone(current), status: object.status };
    } else {
      const { uid, namespace, creationTimestamp, deletionTimestamp, deletionGracePeriodSeconds } =
        current.metadata;
      next = {
        ...object,
        metadata: {
          ...object.metadata,
          uid,
          namespace,
          creationTimestamp,
          deletionTimestamp,
          deletionGracePeriodSeconds,
        },
      };
      if (type.statusSubresource) next.status = current.status;
    }
    next = JSON.parse(JSON.stringify(next)) as KubeObject; // plain JSON: no undefined fields
    next.metadata.resourceVersion = current.metadata.resourceVersion;
    if (isDeepStrictEqual(next, current)) return current; // a no-op write changes nothing
    return this.commit(type, current, next);
  }

  /** JSON merge patch; a resourceVersion in the patch is a precondition, as in the real one. */
  private patch(type: ResourceType, current: KubeObject, body: unknown, subresource: string | undefined) {
    if (!isJsonObject(body)) throw badRequest("a merge patch is a JSON object");
    const patched = structuredClone(current);
    applyMergePatch(patched as unknown as TwinObject, body);
    return this.update(type, current, patched, subresource);
  }

  private delete(type: ResourceType, current: KubeObject, body: unknown, query: URLSearchParams): unknown {
    const options = isJsonObject(body)
      ? (body as { gracePeriodSeconds?: number; preconditions?: ObjectMeta })
      : {};
    const fromQuery = query.get("gracePeriodSeconds");
    const grace = options.gracePeriodSeconds ?? (fromQuery === null ? undefined : Number(fromQuery));
    const name = current.metadata.name ?? "";
    for (const field of ["uid", "resourceVersion"] as const) {
      const expected = options.preconditions?.[field];
      if (expected !== undefined && expected !== current.metadata[field]) {
        const label = field === "uid" ? "UID" : "ResourceVersion";
        throw conflict(
          type,
          name,
          `Precondition failed: ${label} in precondition: ${expected}, ${label} in object meta: ${current.metadata[field]}`,
        );
      }
    }
    if (type.kind === "Pod") {
      const terminating = this.deleteGracefully(type, current, grace);
      if (terminating) return terminating;
    }
    const deleted = this.commit(type, current, undefined);
    if (type.kind === "Pod") return deleted;
    return {
      kind: "Status",
      apiVersion: "v1",
      metadata: {},
      status: "Success",
      details: { name, kind: type.plural, uid: deleted.metadata.uid },
    };
  }

  /**
   * A pod bound to a node is not removed at once: it gets a deletionTimestamp `grace` seconds ahead
   * and stays until its kubelet deletes it with grace 0. A later request may only shorten the grace.
   * Returns undefined when the pod is to go now (grace 0, not bound, or already finished).
   */
  private deleteGracefully(type: ResourceType, pod: KubeObject, requested: number | undefined) {
    const { deletionTimestamp, deletionGracePeriodSeconds = 0 } = pod.metadata;
    const next = structuredClone(pod);
    if (deletionTimestamp !== undefined) {
      if (deletionGracePeriodSeconds === 0 || requested === 0) return undefined;
      if (requested === undefined || requested >= deletionGracePeriodSeconds) return pod;
      const shortenedBy = (deletionGracePeriodSeconds - requested) * 1000;
      next.metadata.deletionTimestamp = kubeTime(new Date(Date.parse(deletionTimestamp) - shortenedBy));
      next.metadata.deletionGracePeriodSeconds = requested;
      return this.commit(type, pod, next);
    }
    const finished = ["Succeeded", "Failed"].includes(String(pod.status?.phase));
    const grace =
      !pod.spec?.nodeName || finished
        ? 0
        : (requested ?? Number(pod.spec.terminationGracePeriodSeconds ?? 30));
    if (grace <= 0) return undefined;
    next.metadata.deletionTimestamp = kubeTime(new Date(Date.now() + grace * 1000));
    next.metadata.deletionGracePeriodSeconds = grace;
    return this.commit(type, pod, next);
  }

  /** Stores (or, without `next`, removes) an object at the next resourceVersion and tells the watches. */
  private commit(
    type: ResourceType,
    previous: KubeObject | undefined,
    next: KubeObject | undefined,
  ): KubeObject {
    const object = structuredClone(next ?? (previous as KubeObject));
    this.revision += 1;
    object.metadata.resourceVersion = String(this.revision);
    const objects = this.objects.get(type) as Map<string, KubeObject>;
    if (next) objects.set(objectKey(object), object);
    else objects.delete(objectKey(object));
    const change: Change = { type, resourceVersion: this.revision, previous, object, deleted: !next };
    this.changes.push(change);
    for (const watcher of this.watchers) {
      const event = watchEvent(change, watcher.type, watcher.matches);
      if (event) watcher.send(event);
    }
    return object;
  }
}

/** What a watch on `type` with this selector sees of a change, if anything. */
function watchEvent(
  change: Change,
  type: ResourceType,
  matches: (object: KubeObject) => boolean,
): WatchEvent | undefined {
  if (change.type !== type) return undefined;
  const was = change.previous !== undefined && matches(change.previous);
  const is = !change.deleted && matches(change.object);
  if (is) return { type: was ? "MODIFIED" : "ADDED", object: change.object };
  return was ? { type: "DELETED", object: change.object } : undefined;
}

function asObject(type: ResourceType, body: unknown): KubeObject {
  if (!isJsonObject(body)) throw badRequest("the request body is not an object");
  const object = structuredClone(body) as KubeObject;
  if (object.kind !== undefined && object.kind !== type.kind) {
    throw badRequest(`a ${String(object.kind)} sent to ${type.plural}`);
  }
  object.apiVersion = type.apiVersion;
  object.kind = type.kind;
  object.metadata = isJsonObject(object.metadata) ? object.metadata : {};
  return object;
}

const objectKey = (object: KubeObject) => `${object.metadata.namespace ?? ""}/${object.metadata.name}`;

/** A field selector's view of a field: a string, "" when absent. */
function fieldValue(object: KubeObject, path: string): string {
  let value: unknown = object;
  for (const segment of path.split(".")) value = isJsonObject(value) ? value[segment] : undefined;
  return typeof value === "string" || typeof value === "number" || typeof value === "boolean"
    ? String(value)
    : "";
}

function respond(response: ServerResponse, status: number, body: unknown): void {
  response.writeHead(status, { "content-type": "application/json" });
  response.end(JSON.stringify(body));
}
