// The IoT Hub data-plane REST surface that azure-iothub's Registry and Client call (api-version
// 2021-04-12): devices, twins and module twins, twin queries with continuation, configurations,
// applyConfigurationContent and module direct methods. Each request is authenticated (SAS), admitted by
// the traffic shaper for its operation class, then served; errors use the hub's status codes and bodies.
import type { IncomingMessage, ServerResponse } from "node:http";
import { TwinQueryError, type TwinObject } from "../../lib/hub/twinQuery.js";
import type { MetricsCache } from "./configurationMetrics.js";
import {
  configurationEtag,
  type ConfigurationStore,
  type StoredConfiguration,
} from "./configurationStore.js";
import type { DeviceRegistry } from "./deviceRegistry.js";
import { invokeEdgeAgentMethod } from "./edgeAgentMethods.js";
import type { Fleet } from "./fleet.js";
import { HubRestError, badRequest } from "./restErrors.js";
import { decodeCursor, runQueryPage } from "./hubQuery.js";
import { isJsonObject } from "./jsonMergePatch.js";
import { verifySasToken, type SharedAccessPolicy } from "./sasAuthentication.js";
import { bearerPrefix, verifyBearerToken } from "./bearerAuthentication.js";
import type { TrustedTokenIssuer } from "./localTokenIssuer.js";
import type { HubLimits, OperationClass } from "./skuLimits.js";
import type { TrafficShaper } from "./trafficShaper.js";

export interface RestApiContext {
  registry: DeviceRegistry;
  configurations: ConfigurationStore;
  metrics: MetricsCache;
  fleet: Fleet;
  shaper: TrafficShaper;
  limits: HubLimits;
  policy: SharedAccessPolicy;
  /** Issuers whose bearer tokens (Microsoft Entra ID's stand-in) the hub accepts besides SAS. */
  tokenIssuers: readonly TrustedTokenIssuer[];
  now: () => Date;
  /** Requests served per operation name (e.g. addConfiguration), for tests and benchmarks. */
  operationCounts: Record<string, number>;
}

interface Reply {
  status: number;
  body?: unknown;
  headers?: Record<string, string>;
}

interface Request {
  method: string;
  segments: string[];
  headers: IncomingMessage["headers"];
  body: unknown;
}

interface Route {
  method: string;
  /** Path segments; ":name" captures one. */
  pattern: string[];
  operation: string;
  operationClass: OperationClass;
  /** Tokens the request costs (direct methods pay per started 4 KB). */
  cost?: (request: Request) => number;
  handle: (context: RestApiContext, params: Record<string, string>, request: Request) => Reply;
}

const MAX_BODY_BYTES = 1024 * 1024;
const DEFAULT_PAGE_SIZE = 100;
const MAX_PAGE_SIZE = 1_000;

const header = (request: Request, name: string): string | undefined => {
  const value = request.headers[name];
  return Array.isArray(value) ? value[0] : value;
};

function configurationJson(context: RestApiContext, configuration: StoredConfiguration): TwinObject {
  const { systemMetrics, metrics } = context.metrics.metricsOf(configuration);
  return {
    id: configuration.id,
    schemaVersion: configuration.schemaVersion,
    labels: configuration.labels,
    content: { modulesContent: configuration.modulesContent },
    contentType: "assignment",
    targetCondition: configuration.targetCondition,
    createdTimeUtc: configuration.createdTimeUtc,
    lastUpdatedTimeUtc: configuration.lastUpdatedTimeUtc,
    priority: configuration.priority,
    systemMetrics: { results: systemMetrics.results, queries: systemMetrics.queries },
    metrics: { results: metrics.results, queries: metrics.queries },
    etag: configurationEtag(configuration.etagCounter),
  };
}

function query(context: RestApiContext, request: Request): Reply {
  if (!isJsonObject(request.body) || typeof request.body["query"] !== "string") {
    throw badRequest('The request body must be { "query": "SELECT ..." }');
  }
  const text = request.body["query"];
  const pageSizeHeader = header(request, "x-ms-max-item-count");
  const pageSize = pageSizeHeader === undefined ? DEFAULT_PAGE_SIZE : Number(pageSizeHeader);
  if (!Number.isInteger(pageSize) || pageSize < 1 || pageSize > MAX_PAGE_SIZE) {
    throw badRequest(`x-ms-max-item-count must be an integer from 1 to ${MAX_PAGE_SIZE}`);
  }
  const token = header(request, "x-ms-continuation");
  let after: string | undefined;
  if (token) {
    const cursor = decodeCursor(token, text);
    if (!cursor) throw badRequest("x-ms-continuation is not a continuation token of this query");
    after = cursor.after;
  }
  try {
    const page = runQueryPage(context.registry, text, pageSize, after);
    const headers: Record<string, string> = { "x-ms-item-type": "JObject" };
    if (page.continuationToken) headers["x-ms-continuation"] = page.continuationToken;
    return { status: 200, body: page.items, headers };
  } catch (error) {
    if (error instanceof TwinQueryError) throw badRequest(`Query is invalid: ${error.message}`);
    throw error;
  }
}

function invokeModuleMethod(
  context: RestApiContext,
  deviceId: string,
  moduleId: string,
  body: unknown,
): Reply {
  const device = context.registry.get(deviceId);
  context.registry.module(deviceId, moduleId);
  if (!isJsonObject(body) || typeof body["methodName"] !== "string" || body["methodName"] === "") {
    throw badRequest("methodName is required");
  }
  const payloadBytes = Buffer.byteLength(JSON.stringify(body["payload"] ?? null));
  if (payloadBytes > context.limits.maxMethodPayloadBytes) {
    throw new HubRestError(
      413,
      "MessageTooLarge",
      `Direct method payload is ${payloadBytes} bytes; the limit is ${context.limits.maxMethodPayloadBytes} bytes`,
    );
  }
  const agent = context.fleet.agent(deviceId);
  if (!device.connected || !agent.online) {
    throw new HubRestError(404, "DeviceNotOnline", `Timed out waiting for device ${deviceId} to connect.`);
  }
  if (moduleId !== "$edgeAgent") {
    throw new HubRestError(
      404,
      "DeviceNotOnline",
      `Module ${moduleId} on ${deviceId} is not subscribed to direct methods.`,
    );
  }
  const result = invokeEdgeAgentMethod(
    agent,
    body["methodName"],
    body["payload"],
    context.limits.maxMethodPayloadBytes,
    context.now().getTime(),
  );
  return { status: 200, body: result };
}

function createDevice(context: RestApiContext, deviceId: string, request: Request): Reply {
  const body = isJsonObject(request.body) ? request.body : {};
  if (body["deviceId"] !== undefined && body["deviceId"] !== deviceId) {
    throw badRequest(
      `deviceId in the body (${JSON.stringify(body["deviceId"])}) does not match the URL ('${deviceId}')`,
    );
  }
  if (header(request, "if-match") !== undefined) {
    throw badRequest("Updating a device identity (PUT with If-Match) is not supported by the simulator");
  }
  const iotEdge = isJsonObject(body["capabilities"]) && body["capabilities"]["iotEdge"] === true;
  if (iotEdge) {
    context.fleet.addDevice({ deviceId, online: true });
  } else {
    context.registry.create(deviceId, { iotEdge: false });
  }
  return { status: 200, body: context.registry.deviceIdentity(context.registry.get(deviceId)) };
}

const ROUTES: Route[] = [
  {
    method: "GET",
    pattern: ["devices"],
    operation: "listDevices",
    operationClass: "identity",
    handle: (c) => ({
      status: 200,
      body: [...c.registry.all()].slice(0, 1000).map((d) => c.registry.deviceIdentity(d)),
    }),
  },
  {
    method: "PUT",
    pattern: ["devices", ":deviceId"],
    operation: "createOrUpdateDevice",
    operationClass: "identity",
    handle: (c, p, r) => createDevice(c, p["deviceId"] as string, r),
  },
  {
    method: "GET",
    pattern: ["devices", ":deviceId"],
    operation: "getDevice",
    operationClass: "identity",
    handle: (c, p) => ({
      status: 200,
      body: c.registry.deviceIdentity(c.registry.get(p["deviceId"] as string)),
    }),
  },
  {
    method: "DELETE",
    pattern: ["devices", ":deviceId"],
    operation: "deleteDevice",
    operationClass: "identity",
    handle: (c, p, r) => {
      c.registry.delete(p["deviceId"] as string, header(r, "if-match"));
      c.fleet.forgetDevice(p["deviceId"] as string);
      return { status: 204 };
    },
  },
  {
    method: "GET",
    pattern: ["devices", ":deviceId", "modules"],
    operation: "getModulesOnDevice",
    operationClass: "identity",
    handle: (c, p) => {
      const device = c.registry.get(p["deviceId"] as string);
      const modules = [...device.modules.values()].map((m) => ({
        deviceId: device.deviceId,
        moduleId: m.moduleId,
        generationId: m.generationId,
        managedBy: m.managedBy,
        connectionState: device.connected ? "Connected" : "Disconnected",
      }));
      return { status: 200, body: modules };
    },
  },
  {
    method: "POST",
    pattern: ["devices", "query"],
    operation: "queryTwins",
    operationClass: "queries",
    handle: (c, _p, r) => query(c, r),
  },
  {
    method: "POST",
    pattern: ["devices", ":deviceId", "applyConfigurationContent"],
    operation: "applyConfigurationContentOnDevice",
    operationClass: "configurations",
    handle: (c, p, r) => {
      c.fleet.applyContent(p["deviceId"] as string, r.body);
      return { status: 204 };
    },
  },
  {
    method: "GET",
    pattern: ["twins", ":deviceId"],
    operation: "getTwin",
    operationClass: "twinReads",
    handle: (c, p) => twinReply(c.registry.deviceTwin(c.registry.get(p["deviceId"] as string))),
  },
  {
    method: "PATCH",
    pattern: ["twins", ":deviceId"],
    operation: "updateTwin",
    operationClass: "twinUpdates",
    handle: (c, p, r) =>
      twinReply(c.registry.patchDeviceTwin(p["deviceId"] as string, r.body, header(r, "if-match"))),
  },
  {
    method: "GET",
    pattern: ["twins", ":deviceId", "modules", ":moduleId"],
    operation: "getModuleTwin",
    operationClass: "twinReads",
    handle: (c, p) => {
      const device = c.registry.get(p["deviceId"] as string);
      return twinReply(
        c.registry.moduleTwin(device, c.registry.module(device.deviceId, p["moduleId"] as string)),
      );
    },
  },
  {
    method: "PATCH",
    pattern: ["twins", ":deviceId", "modules", ":moduleId"],
    operation: "updateModuleTwin",
    operationClass: "twinUpdates",
    handle: (c, p, r) =>
      twinReply(
        c.registry.patchModuleTwin(
          p["deviceId"] as string,
          p["moduleId"] as string,
          r.body,
          header(r, "if-match"),
        ),
      ),
  },
  {
    method: "POST",
    pattern: ["twins", ":deviceId", "modules", ":moduleId", "methods"],
    operation: "invokeModuleMethod",
    operationClass: "directMethods",
    cost: (r) => Math.max(1, Math.ceil(Buffer.byteLength(JSON.stringify(r.body ?? null)) / 4096)),
    handle: (c, p, r) => invokeModuleMethod(c, p["deviceId"] as string, p["moduleId"] as string, r.body),
  },
  {
    method: "POST",
    pattern: ["twins", ":deviceId", "methods"],
    operation: "invokeDeviceMethod",
    operationClass: "directMethods",
    handle: (c, p) => {
      c.registry.get(p["deviceId"] as string);
      throw new HubRestError(
        404,
        "DeviceNotOnline",
        `Device ${p["deviceId"]} is not subscribed to direct methods.`,
      );
    },
  },
  {
    method: "GET",
    pattern: ["configurations"],
    operation: "getConfigurations",
    operationClass: "configurations",
    handle: (c) => ({ status: 200, body: c.configurations.all().map((cfg) => configurationJson(c, cfg)) }),
  },
  {
    method: "GET",
    pattern: ["configurations", ":id"],
    operation: "getConfiguration",
    operationClass: "configurations",
    handle: (c, p) => configurationReply(c, c.configurations.get(p["id"] as string), 200),
  },
  {
    method: "PUT",
    pattern: ["configurations", ":id"],
    operation: "addOrUpdateConfiguration",
    operationClass: "configurations",
    handle: (c, p, r) => {
      const { configuration, created } = c.configurations.put(
        p["id"] as string,
        r.body,
        header(r, "if-match"),
      );
      return configurationReply(c, configuration, created ? 201 : 200);
    },
  },
  {
    method: "DELETE",
    pattern: ["configurations", ":id"],
    operation: "removeConfiguration",
    operationClass: "configurations",
    handle: (c, p, r) => {
      c.configurations.delete(p["id"] as string, header(r, "if-match"));
      return { status: 204 };
    },
  },
];

function twinReply(twin: TwinObject): Reply {
  return { status: 200, body: twin, headers: { ETag: `"${twin["etag"] as string}"` } };
}

function configurationReply(
  context: RestApiContext,
  configuration: StoredConfiguration,
  status: number,
): Reply {
  const body = configurationJson(context, configuration);
  return { status, body, headers: { ETag: `"${body["etag"] as string}"` } };
}

function match(
  method: string,
  segments: string[],
): { route: Route; params: Record<string, string> } | undefined {
  for (const route of ROUTES) {
    if (route.method !== method || route.pattern.length !== segments.length) continue;
    const params: Record<string, string> = {};
    const matches = route.pattern.every((part, index) => {
      const segment = segments[index] as string;
      if (part.startsWith(":")) {
        params[part.slice(1)] = segment;
        return true;
      }
      return part === segment;
    });
    if (matches) return { route, params };
  }
  return undefined;
}

async function readBody(request: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of request) {
    size += (chunk as Buffer).length;
    if (size > MAX_BODY_BYTES)
      throw new HubRestError(413, "RequestEntityTooLarge", `Request body exceeds ${MAX_BODY_BYTES} bytes`);
    chunks.push(chunk as Buffer);
  }
  if (size === 0) return undefined;
  try {
    return JSON.parse(Buffer.concat(chunks).toString("utf8")) as unknown;
  } catch {
    throw badRequest("The request body is not valid JSON");
  }
}

function send(response: ServerResponse, reply: Reply): void {
  const headers: Record<string, string> = { ...reply.headers };
  if (reply.body === undefined) {
    response.writeHead(reply.status, headers).end();
    return;
  }
  const payload = JSON.stringify(reply.body);
  headers["Content-Type"] = "application/json; charset=utf-8";
  headers["Content-Length"] = String(Buffer.byteLength(payload));
  response.writeHead(reply.status, headers).end(payload);
}

/** The request listener for the simulator's HTTPS server. */
export function createRestApi(
  context: RestApiContext,
): (request: IncomingMessage, response: ServerResponse) => void {
  const serve = async (incoming: IncomingMessage): Promise<Reply> => {
    const url = new URL(incoming.url ?? "/", "https://hub");
    const segments = url.pathname.split("/").filter(Boolean).map(decodeURIComponent);
    // The body is read first so that an early error answer never leaves a half-read request on the socket.
    const body = await readBody(incoming);
    if (!url.searchParams.get("api-version")) throw badRequest("The api-version query parameter is required");
    const authorization = incoming.headers.authorization;
    if (authorization?.startsWith(bearerPrefix))
      verifyBearerToken(authorization, context.tokenIssuers, context.now());
    else verifySasToken(authorization, context.policy, context.now());
    const found = match(incoming.method ?? "GET", segments);
    if (!found) {
      throw new HubRestError(
        404,
        "NotFound",
        `${incoming.method ?? "GET"} ${url.pathname} is not an operation this hub serves`,
      );
    }
    const request: Request = { method: incoming.method ?? "GET", segments, headers: incoming.headers, body };
    await context.shaper.admit(found.route.operationClass, found.route.cost?.(request) ?? 1);
    context.operationCounts[found.route.operation] =
      (context.operationCounts[found.route.operation] ?? 0) + 1;
    return found.route.handle(context, found.params, request);
  };
  return (incoming, response) => {
    serve(incoming).then(
      (reply) => send(response, reply),
      (error: unknown) => {
        const hubError =
          error instanceof HubRestError
            ? error
            : new HubRestError(
                500,
                "ServerError",
                `Internal error: ${error instanceof Error ? error.message : String(error)}`,
              );
        send(response, {
          status: hubError.status,
          body: hubError.body(context.now()),
          headers: { ...hubError.headers, "iothub-errorcode": hubError.code },
        });
      },
    );
  };
}
