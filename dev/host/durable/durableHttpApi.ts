// The HTTP API of the Durable extension that durable-functions' DurableClient calls (at the
// client binding's rpcBaseUrl) and that the status URLs handed to callers point at:
//   POST   orchestrators/{name}[/{instanceId}]          start an instance (body: JSON input)
//   GET    instances/{id}[?showHistory&showInput...]     status: 200 ended, 202 running, 404
//   GET    instances/?runtimeStatus&createdTimeFrom&To   list
//   DELETE instances/{id} | instances/?filters           purge
//   POST   instances/{id}/raiseEvent/{event}             202, 404, 410 when ended
//   POST   instances/{id}/terminate?reason=              202, 404, 410 when ended
//   GET    entities/{name}/{key}                         200 with the state, 404
//   POST   entities/{name}/{key}?op=                     signal, 202
import { randomUUID } from "node:crypto";
import type { IncomingMessage, ServerResponse } from "node:http";
import type { DurableExtension, StatusQuery } from "./durableExtension.js";
import type { RuntimeStatus } from "./orchestrationInstance.js";

const runtimeStatuses: readonly RuntimeStatus[] = ["Pending", "Running", "Completed", "Failed", "Terminated"];

class BadRequest extends Error {}

function send(response: ServerResponse, status: number, body?: unknown): void {
  if (body === undefined) {
    response.writeHead(status).end();
    return;
  }
  response.writeHead(status, { "Content-Type": "application/json" }).end(JSON.stringify(body));
}

async function bodyText(request: IncomingMessage): Promise<string | null> {
  const chunks: Buffer[] = [];
  for await (const chunk of request) chunks.push(chunk as Buffer);
  const text = Buffer.concat(chunks).toString("utf8");
  if (text.length === 0) return null;
  try {
    JSON.parse(text);
  } catch {
    throw new BadRequest("the request body must be JSON");
  }
  return text;
}

function flag(query: URLSearchParams, name: string): boolean {
  return query.get(name)?.toLowerCase() === "true";
}

function dateParam(query: URLSearchParams, name: string): Date | undefined {
  const value = query.get(name);
  if (value === null || value === "") return undefined;
  const date = new Date(value);
  if (Number.isNaN(date.getTime())) throw new BadRequest(`query parameter ${name}: "${value}" is not a date`);
  return date;
}

function statusQuery(query: URLSearchParams): StatusQuery {
  const statuses = (query.get("runtimeStatus") ?? "")
    .split(",")
    .filter((s) => s.length > 0)
    .map((s) => {
      const status = runtimeStatuses.find((known) => known.toLowerCase() === s.toLowerCase());
      if (!status)
        throw new BadRequest(
          `query parameter runtimeStatus: "${s}" is not one of ${runtimeStatuses.join(", ")}`,
        );
      return status;
    });
  return {
    runtimeStatus: statuses,
    createdTimeFrom: dateParam(query, "createdTimeFrom"),
    createdTimeTo: dateParam(query, "createdTimeTo"),
  };
}

export type ManagementUrls = (instanceId: string) => Record<string, string>;

/** Answers a request whose path below the API's base is `segments`. */
export function durableHttpApi(durable: DurableExtension, managementUrls: ManagementUrls) {
  async function route(
    request: IncomingMessage,
    response: ServerResponse,
    segments: string[],
    query: URLSearchParams,
  ) {
    const method = request.method ?? "GET";
    const [resource, first, second, third] = segments;

    if (resource === "orchestrators" && first && method === "POST" && segments.length <= 3) {
      const instanceId = second ?? randomUUID().replaceAll("-", "");
      const input = await bodyText(request);
      const outcome = await durable.startInstance({ name: first, instanceId, input });
      if (!outcome.started && outcome.reason === "unknownFunction") {
        return send(response, 400, {
          message: `the function '${first}' does not exist or is not an orchestrator function`,
        });
      }
      if (!outcome.started)
        return send(response, 409, { message: `an instance with id '${instanceId}' is already running` });
      return send(response, 202, { id: instanceId, ...managementUrls(instanceId) });
    }

    if (resource === "instances") {
      if (!first && method === "GET") {
        return send(
          response,
          200,
          await durable.list(statusQuery(query), query.get("showInput") !== "false"),
        );
      }
      if (!first && method === "DELETE") {
        const deleted = await durable.purgeMatching(statusQuery(query));
        return deleted > 0 ? send(response, 200, { instancesDeleted: deleted }) : send(response, 404);
      }
      if (first && !second && method === "GET") {
        const status = await durable.status(first, {
          showHistory: flag(query, "showHistory"),
          showHistoryOutput: flag(query, "showHistoryOutput"),
          showInput: query.get("showInput") !== "false",
        });
        if (!status) return send(response, 404, { message: `no instance with id '${first}'` });
        const ended = ["Completed", "Failed", "Terminated"].includes(status.runtimeStatus);
        return send(response, ended ? 200 : 202, status);
      }
      if (first && !second && method === "DELETE") {
        return (await durable.purge(first))
          ? send(response, 200, { instancesDeleted: 1 })
          : send(response, 404);
      }
      if (first && second === "raiseEvent" && third && method === "POST") {
        const outcome = await durable.raiseEvent(first, third, await bodyText(request));
        return send(response, { sent: 202, notFound: 404, ended: 410 }[outcome]);
      }
      if (first && second === "terminate" && !third && method === "POST") {
        const outcome = await durable.terminate(first, query.get("reason") ?? "");
        return send(response, { sent: 202, notFound: 404, ended: 410 }[outcome]);
      }
      if (first && second && ["suspend", "resume", "rewind", "restart"].includes(second)) {
        return send(response, 501, { message: `${second} is not supported by the local host` });
      }
    }

    if (resource === "entities" && first && second && segments.length === 3) {
      if (method === "GET") {
        const { exists, state } = await durable.entities.readState(first, second);
        return exists ? send(response, 200, state ?? null) : send(response, 404);
      }
      if (method === "POST") {
        const operation = query.get("op") ?? "";
        await durable.signalEntity(first, second, operation, await bodyText(request));
        return send(response, 202);
      }
    }
    send(response, 404, { message: `no durable API ${method} ${segments.join("/")}` });
  }

  return async (
    request: IncomingMessage,
    response: ServerResponse,
    segments: string[],
    query: URLSearchParams,
  ) => {
    try {
      await route(request, response, segments, query);
    } catch (error) {
      if (!(error instanceof BadRequest)) throw error;
      send(response, 400, { message: error.message });
    }
  };
}
