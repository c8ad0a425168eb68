// The IoT Edge agent's built-in direct methods the connector uses, with their payloads as the
// edgeAgent documents them (schema version 1.0): GetModuleLogs for `kubectl logs`, RestartModule.

import type { DirectMethodResult, HubClient } from "./hubClient.js";
import { HubError, HubNotFoundError } from "./hubErrors.js";

const EDGE_AGENT = "$edgeAgent";

export interface ModuleLogsRequest {
  /** The module (container) whose logs to read. */
  moduleName: string;
  /** Only the last N lines. */
  tail?: number;
  /** Only lines since this time: a duration ("15m", "1h"), an RFC 3339 timestamp or unix seconds. */
  since?: string;
  /** How long the hub waits for the device's answer (the hub allows 5–300 s). */
  responseTimeoutSeconds?: number;
}

/** A regular expression matching exactly this name (GetModuleLogs selects modules by regex; `$` is common in names). */
function exactly(name: string): string {
  return `^${name.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}$`;
}

/** Turns a module's non-2xx answer into a typed error naming the method and module. */
function checkAnswer(
  answer: DirectMethodResult,
  methodName: string,
  deviceId: string,
  moduleName: string,
): void {
  if (answer.status >= 200 && answer.status < 300) return;
  const detail =
    typeof answer.payload === "object" && answer.payload !== null && "message" in answer.payload
      ? String(answer.payload.message)
      : JSON.stringify(answer.payload);
  const ErrorClass = answer.status === 404 ? HubNotFoundError : HubError;
  throw new ErrorClass({
    operation: `invoke ${methodName} for`,
    target: `module "${deviceId}/${moduleName}"`,
    reason: `${EDGE_AGENT} answered ${answer.status}: ${detail}`,
    attempts: 1,
  });
}

/** The module's log lines, oldest first. */
export async function getModuleLogs(
  hub: HubClient,
  deviceId: string,
  request: ModuleLogsRequest,
): Promise<string[]> {
  const filter = {
    ...(request.tail !== undefined && { tail: request.tail }),
    ...(request.since !== undefined && { since: request.since }),
  };
  const answer = await hub.invokeModuleMethod(deviceId, EDGE_AGENT, {
    methodName: "GetModuleLogs",
    payload: {
      schemaVersion: "1.0",
      items: [{ id: exactly(request.moduleName), filter }],
      encoding: "none",
      contentType: "text",
    },
    ...(request.responseTimeoutSeconds !== undefined && {
      responseTimeoutSeconds: request.responseTimeoutSeconds,
    }),
  });
  checkAnswer(answer, "GetModuleLogs", deviceId, request.moduleName);
  // edgeAgent answers [{ name, payload }] per matched module (older agents said `id`).
  const items = Array.isArray(answer.payload)
    ? (answer.payload as Array<{ name?: unknown; id?: unknown; payload?: unknown }>)
    : [];
  const item = items.find((entry) => (entry.name ?? entry.id) === request.moduleName) ?? items[0];
  const text = typeof item?.payload === "string" ? item.payload : "";
  return text === "" ? [] : text.replace(/\n$/, "").split("\n");
}

/** Asks the edge agent to restart one module. */
export async function restartModule(hub: HubClient, deviceId: string, moduleName: string): Promise<void> {
  const answer = await hub.invokeModuleMethod(deviceId, EDGE_AGENT, {
    methodName: "RestartModule",
    payload: { schemaVersion: "1.0", id: moduleName },
  });
  checkAnswer(answer, "RestartModule", deviceId, moduleName);
}
