// The direct methods a simulated $edgeAgent answers, with edgeAgent's request and response shapes:
// ping, RestartModule ({ schemaVersion, id }) and GetModuleLogs ({ schemaVersion, items: [{ id, filter:
// { tail, since, until, loglevel, regex } }], encoding, contentType }). A bad request gets status 400 with
// a message naming the field, as edgeAgent answers; the response payload is kept under the hub's limit.
import type { TwinValue } from "../../lib/hub/twinQuery.js";
import { isJsonObject } from "./jsonMergePatch.js";
import { parseLogTime, type LogFilter } from "./moduleLogs.js";
import type { SimulatedEdgeAgent } from "./simulatedEdgeAgent.js";

export interface MethodResult {
  status: number;
  payload: TwinValue;
}

const failure = (status: number, message: string): MethodResult => ({ status, payload: { message } });

function parseFilter(raw: unknown, field: string, now: number): LogFilter {
  if (raw === undefined || raw === null) return {};
  if (!isJsonObject(raw)) throw new Error(`${field} must be an object`);
  const filter: LogFilter = {};
  const { tail, since, until, loglevel, regex } = raw;
  if (tail !== undefined) {
    if (typeof tail !== "number" || !Number.isInteger(tail) || tail < 0)
      throw new Error(`${field}.tail must be a non-negative integer`);
    filter.tail = tail;
  }
  if (since !== undefined) filter.since = parseLogTime(`${field}.since`, since, now);
  if (until !== undefined) filter.until = parseLogTime(`${field}.until`, until, now);
  if (loglevel !== undefined) {
    if (typeof loglevel !== "number" || !Number.isInteger(loglevel) || loglevel < 0 || loglevel > 7) {
      throw new Error(`${field}.loglevel must be a syslog level 0-7`);
    }
    filter.loglevel = loglevel;
  }
  if (regex !== undefined) {
    if (typeof regex !== "string") throw new Error(`${field}.regex must be a string`);
    try {
      filter.regex = new RegExp(regex);
    } catch {
      throw new Error(`${field}.regex is not a valid regular expression`);
    }
  }
  return filter;
}

function getModuleLogs(
  agent: SimulatedEdgeAgent,
  payload: unknown,
  maxBytes: number,
  now: number,
): MethodResult {
  if (!isJsonObject(payload)) return failure(400, "payload must be an object with schemaVersion and items");
  if (payload["encoding"] !== undefined && payload["encoding"] !== "none") {
    return failure(400, 'encoding: only "none" is supported by the simulator');
  }
  if (payload["contentType"] !== undefined && payload["contentType"] !== "text") {
    return failure(400, 'contentType: only "text" is supported by the simulator');
  }
  const items = payload["items"];
  if (!Array.isArray(items) || items.length === 0) return failure(400, "items must be a non-empty array");
  const results: { name: string; lines: string[] }[] = [];
  try {
    items.forEach((item, index) => {
      if (!isJsonObject(item) || typeof item["id"] !== "string")
        throw new Error(`items[${index}].id must be a module name regex`);
      let idPattern: RegExp;
      try {
        idPattern = new RegExp(`^(?:${item["id"]})$`);
      } catch {
        throw new Error(`items[${index}].id is not a valid regular expression`);
      }
      const filter = parseFilter(item["filter"], `items[${index}].filter`, now);
      for (const name of agent.logSources().filter((source) => idPattern.test(source))) {
        results.push({ name, lines: agent.logs(name, filter) });
      }
    });
  } catch (error) {
    return failure(400, (error as Error).message);
  }
  // Stay under the method payload limit: drop the oldest lines of the longest log first.
  const size = () =>
    Buffer.byteLength(JSON.stringify(results.map((r) => ({ name: r.name, payload: r.lines.join("\n") }))));
  for (let guard = 0; size() > maxBytes && guard < 100_000; guard += 1) {
    const longest = results.reduce((a, b) => (b.lines.length > a.lines.length ? b : a));
    if (longest.lines.length === 0) break;
    longest.lines.splice(0, Math.max(1, Math.ceil(longest.lines.length / 10)));
  }
  return { status: 200, payload: results.map((r) => ({ name: r.name, payload: r.lines.join("\n") })) };
}

/** Invokes an $edgeAgent direct method on a connected simulated device. */
export function invokeEdgeAgentMethod(
  agent: SimulatedEdgeAgent,
  methodName: string,
  payload: unknown,
  maxResponseBytes: number,
  now: number,
): MethodResult {
  switch (methodName) {
    case "ping":
      return { status: 200, payload: null };
    case "RestartModule": {
      const id = isJsonObject(payload) ? payload["id"] : undefined;
      if (typeof id !== "string" || id === "") return failure(400, "id: the module to restart is required");
      return agent.restartModule(id)
        ? { status: 200, payload: null }
        : failure(400, `Module ${id} is not running on this device`);
    }
    case "GetModuleLogs":
      return getModuleLogs(agent, payload, maxResponseBytes, now);
    default:
      return failure(501, `Method ${methodName} is not implemented by the simulated edgeAgent`);
  }
}
