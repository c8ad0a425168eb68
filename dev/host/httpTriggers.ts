// HTTP triggers: `/<routePrefix>/<route or function name>`, methods and authLevel as the real host
// applies them; the request reaches the handler as the library's HttpRequest (via rpc http data)
// and the handler's HttpResponse is written back.
import type { IncomingMessage, ServerResponse } from "node:http";
import type { Registration } from "./functionsCore.js";
import type { RpcBindingInfo, RpcHttpData, RpcTypedData } from "./functionsCoreTypes.js";
import { isAuthorized, parseAuthLevel, presentedKey, type AuthLevel, type HostKeys } from "./hostKeys.js";
import { parseRoute, pathSegments, type RouteTemplate } from "./httpRoutes.js";
import type { HostInvoker } from "./hostInvoker.js";

interface HttpFunction {
  registration: Registration;
  triggerName: string;
  route: RouteTemplate;
  literalCount: number;
  methods: Set<string>;
  authLevel: AuthLevel;
}

const maxBodyBytes = 100 * 1024 * 1024;

function toHttpFunction(registration: Registration): HttpFunction | undefined {
  const entry = Object.entries(registration.metadata.bindings).find(([, b]) => b.type === "httpTrigger");
  if (!entry) return undefined;
  const [triggerName, binding] = entry;
  const name = registration.metadata.name;
  const routeText = typeof binding.route === "string" && binding.route.length > 0 ? binding.route : name;
  const route = parseRoute(routeText);
  const methods = Array.isArray(binding.methods) ? (binding.methods as string[]) : ["GET", "POST"];
  return {
    registration,
    triggerName,
    route,
    literalCount: routeText.split("/").filter((s) => s.length > 0 && !s.startsWith("{")).length,
    methods: new Set(methods.map((m) => m.toUpperCase())),
    authLevel: parseAuthLevel(binding.authLevel, name),
  };
}

async function readBody(request: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of request) {
    const buffer = chunk as Buffer;
    size += buffer.length;
    if (size > maxBodyBytes) throw new Error(`request body exceeds ${maxBodyBytes} bytes`);
    chunks.push(buffer);
  }
  return Buffer.concat(chunks);
}

function headerRecord(request: IncomingMessage): Record<string, string> {
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(request.headers)) {
    if (value !== undefined) headers[name] = Array.isArray(value) ? value.join(", ") : value;
  }
  return headers;
}

// A cookie as the library's toRpcHttpCookie writes it: optional fields wrapped as { value }.
interface RpcCookie {
  name: string;
  value: string;
  domain?: { value?: string } | null;
  path?: { value?: string } | null;
  expires?: { value?: { seconds?: number } } | null;
  secure?: { value?: boolean } | null;
  httpOnly?: { value?: boolean } | null;
  sameSite?: string;
  maxAge?: { value?: number } | null;
}

function cookieHeader(cookie: RpcCookie): string {
  const parts = [`${cookie.name}=${encodeURIComponent(cookie.value)}`];
  if (cookie.domain?.value) parts.push(`Domain=${cookie.domain.value}`);
  if (cookie.path?.value) parts.push(`Path=${cookie.path.value}`);
  const expires = cookie.expires?.value?.seconds;
  if (expires !== undefined) parts.push(`Expires=${new Date(expires * 1000).toUTCString()}`);
  if (cookie.maxAge?.value !== undefined) parts.push(`Max-Age=${cookie.maxAge.value}`);
  if (cookie.secure?.value) parts.push("Secure");
  if (cookie.httpOnly?.value) parts.push("HttpOnly");
  const sameSite = { lax: "Lax", strict: "Strict", explicitNone: "None" }[cookie.sameSite ?? ""];
  if (sameSite) parts.push(`SameSite=${sameSite}`);
  return parts.join("; ");
}

function writeRpcResponse(response: ServerResponse, http: RpcHttpData | undefined | null): void {
  if (!http) {
    response.writeHead(204).end();
    return;
  }
  for (const [name, value] of Object.entries(http.headers ?? {})) response.setHeader(name, value);
  const cookies = (http.cookies ?? []) as RpcCookie[];
  if (cookies.length > 0) response.setHeader("Set-Cookie", cookies.map(cookieHeader));
  response.statusCode = Number(http.statusCode ?? 200);
  const body = http.body;
  if (body?.bytes) response.end(Buffer.from(body.bytes));
  else if (body?.string) response.end(body.string);
  else response.end();
}

function outputOf(
  bindings: Record<string, RpcBindingInfo>,
  response: {
    returnValue?: RpcTypedData | null;
    outputData?: { name?: string | null; data?: RpcTypedData | null }[] | null;
  },
): RpcHttpData | undefined {
  const entry = Object.entries(bindings).find(([, b]) => b.direction === "out" && b.type === "http");
  if (!entry) return undefined;
  if (entry[0] === "$return") return response.returnValue?.http ?? undefined;
  return response.outputData?.find((o) => o.name === entry[0])?.data?.http ?? undefined;
}

export interface HttpTriggerOptions {
  functions: Registration[];
  routePrefix: string;
  keys: HostKeys;
  invoker: HostInvoker;
  onError(functionName: string, error: unknown): void;
}

/** HTTP functions that need a key although the host has none, so that their 401s are no surprise. */
export function functionsNeedingMissingKeys(functions: Registration[], keys: HostKeys): string[] {
  const hasFunctionKey = Boolean(keys.master) || (keys.function ?? []).some((key) => key.length > 0);
  return functions
    .map(toHttpFunction)
    .filter((f): f is HttpFunction => f !== undefined)
    .filter((f) => (f.authLevel === "admin" ? !keys.master : f.authLevel === "function" && !hasFunctionKey))
    .map((f) => f.registration.metadata.name);
}

/** Answers a request if it is for an HTTP trigger; returns false when the path is not under the prefix. */
export function httpTriggerHandler(options: HttpTriggerOptions) {
  const functions = options.functions
    .map(toHttpFunction)
    .filter((f): f is HttpFunction => f !== undefined)
    .sort((a, b) => b.literalCount - a.literalCount);
  const prefix = pathSegments(options.routePrefix);

  return async (request: IncomingMessage, response: ServerResponse, url: URL): Promise<boolean> => {
    const segments = pathSegments(url.pathname);
    if (!prefix.every((part, index) => segments[index]?.toLowerCase() === part.toLowerCase())) return false;
    const routeSegments = segments.slice(prefix.length);
    const method = (request.method ?? "GET").toUpperCase();
    const matches = functions
      .map((fn) => ({ fn, params: fn.route.match(routeSegments) }))
      .filter((m) => m.params !== undefined);
    const match = matches.find((m) => m.fn.methods.has(method));
    if (!match) {
      if (matches.length > 0) {
        response.setHeader("Allow", [...new Set(matches.flatMap((m) => [...m.fn.methods]))].join(", "));
        response.writeHead(405).end();
      } else {
        response.writeHead(404).end();
      }
      return true;
    }
    const { fn, params } = match;
    if (!isAuthorized(fn.authLevel, options.keys, presentedKey(request, url))) {
      response.writeHead(401, { "Content-Type": "text/plain" }).end(`${fn.authLevel} key required`);
      return true;
    }
    const body = method === "GET" || method === "HEAD" ? Buffer.alloc(0) : await readBody(request);
    const http: RpcHttpData = {
      method,
      url: url.href,
      headers: headerRecord(request),
      query: Object.fromEntries(url.searchParams),
      params: params ?? {},
      body: body.length > 0 ? { bytes: body } : undefined,
    };
    try {
      const rpcResponse = await options.invoker.invoke(fn.registration, fn.triggerName, { http });
      writeRpcResponse(response, outputOf(fn.registration.metadata.bindings, rpcResponse));
    } catch (error) {
      options.onError(fn.registration.metadata.name, error);
      if (!response.headersSent) response.writeHead(500).end();
    }
    return true;
  };
}
