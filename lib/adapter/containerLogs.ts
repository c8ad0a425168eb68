// `kubectl logs` for a pod on the virtual node: the kubelet API's /containerLogs route. The lines
// come from one device the pod's deployment targets (the provider checks that): `?device=`, else
// the device named in the pod's `iotedge.connector/logs-device` annotation, else the first device
// where the provider's status says the module runs. tailLines, sinceSeconds / sinceTime,
// timestamps and limitBytes are honoured; `follow` polls GetModuleLogs on the same device for lines
// newer than the last one written (the lines' own times, so nothing is written twice).
import type { ServerResponse } from "node:http";
import { setTimeout as sleep } from "node:timers/promises";
import type { V1Pod } from "@kubernetes/client-node";
import type { Logger } from "pino";
import { redact } from "../hub/redact.js";
import { annotations } from "../translate/annotations.js";
import { ProviderCallError, type ContainerLogsQuery, type PodProvider } from "./podProvider.js";

export interface ContainerLogsOptions {
  provider: PodProvider;
  getPod: (namespace: string, name: string) => V1Pod | undefined;
  logger: Logger;
  /** how often `follow` asks the device for new lines */
  followPollMs?: number;
}

interface LogOptions {
  tailLines?: number;
  since?: string;
  timestamps: boolean;
  follow: boolean;
  limitBytes?: number;
  device?: string;
}

export class LogRequestError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
    this.name = "LogRequestError";
  }
}

const followFailuresTolerated = 3;

function wholeNumber(search: URLSearchParams, parameter: string, minimum = 0): number | undefined {
  const value = search.get(parameter);
  if (value === null) return undefined;
  if (!/^\d+$/.test(value) || Number(value) < minimum)
    throw new LogRequestError(
      400,
      `${parameter} must be a whole number${minimum > 0 ? ` ≥ ${minimum}` : ""}, got "${value}"`,
    );
  return Number(value);
}

function flag(search: URLSearchParams, parameter: string): boolean {
  const value = search.get(parameter);
  if (value === null || value === "false") return false;
  if (value === "true") return true;
  throw new LogRequestError(400, `${parameter} must be true or false, got "${value}"`);
}

/** The kubelet's log options, checked; a device from the query or the pod's annotation. */
export function parseLogOptions(search: URLSearchParams, pod: V1Pod): LogOptions {
  if (flag(search, "previous"))
    throw new LogRequestError(
      400,
      "previous: IoT Edge restarts a module in place and keeps no earlier container's logs",
    );
  const sinceSeconds = wholeNumber(search, "sinceSeconds", 1);
  const sinceTime = search.get("sinceTime") ?? undefined;
  if (sinceSeconds !== undefined && sinceTime !== undefined)
    throw new LogRequestError(400, "sinceSeconds and sinceTime cannot both be given");
  if (sinceTime !== undefined && Number.isNaN(Date.parse(sinceTime)))
    throw new LogRequestError(400, `sinceTime must be an RFC 3339 time, got "${sinceTime}"`);
  const tailLines = wholeNumber(search, "tailLines");
  const limitBytes = wholeNumber(search, "limitBytes", 1);
  const device =
    search.get("device") || pod.metadata?.annotations?.[annotations.logsDevice]?.trim() || undefined;
  return {
    ...(tailLines !== undefined ? { tailLines } : {}),
    ...(sinceSeconds !== undefined ? { since: `${sinceSeconds}s` } : {}),
    ...(sinceTime !== undefined ? { since: sinceTime } : {}),
    ...(limitBytes !== undefined ? { limitBytes } : {}),
    ...(device !== undefined ? { device } : {}),
    timestamps: flag(search, "timestamps"),
    follow: flag(search, "follow"),
  };
}

/** A line's RFC 3339 prefix (as the provider writes it with timestamps=true), and the line without it. */
function splitTimestamp(line: string): { time: number | undefined; text: string } {
  const space = line.indexOf(" ");
  const time = space > 0 ? Date.parse(line.slice(0, space)) : NaN;
  return Number.isNaN(time) ? { time: undefined, text: line } : { time, text: line.slice(space + 1) };
}

function linesOf(text: string): string[] {
  return text === "" ? [] : text.replace(/\n$/, "").split("\n");
}

/** Writes lines to the response until limitBytes is reached; says whether more may follow. */
class LogWriter {
  private written = 0;

  constructor(
    private readonly response: ServerResponse,
    private readonly limitBytes: number | undefined,
  ) {}

  write(line: string): boolean {
    let chunk = Buffer.from(`${line}\n`);
    if (this.limitBytes !== undefined) chunk = chunk.subarray(0, this.limitBytes - this.written);
    this.written += chunk.length;
    if (chunk.length > 0) this.response.write(chunk);
    return this.limitBytes === undefined || this.written < this.limitBytes;
  }
}

/**
 * Where a follow is: the time of the last line written and the lines written at that time.
 * GetModuleLogs' `since` has whole seconds and repeats lines at the boundary: those are skipped.
 */
class FollowCursor {
  private lines = new Set<string>();

  constructor(private time: number) {}

  get sinceSeconds(): string {
    return String(Math.floor(this.time / 1000));
  }

  isNew(line: string): boolean {
    const { time } = splitTimestamp(line);
    if (time !== undefined && time < this.time) return false;
    return (time !== undefined && time > this.time) || !this.lines.has(line);
  }

  remember(line: string): void {
    const { time } = splitTimestamp(line);
    if (time !== undefined && time !== this.time) {
      this.time = time;
      this.lines = new Set();
    }
    this.lines.add(line);
  }
}

function providerFailure(error: unknown, pod: string, container: string): LogRequestError {
  if (error instanceof ProviderCallError && [400, 403, 404].includes(error.status))
    return new LogRequestError(error.status, redact(error.reason));
  const reason = redact(error instanceof Error ? error.message : String(error));
  return new LogRequestError(502, `logs of ${pod}/${container} are not available: ${reason}`);
}

export async function serveContainerLogs(
  response: ServerResponse,
  request: { namespace: string; name: string; container: string; search: URLSearchParams },
  options: ContainerLogsOptions,
): Promise<void> {
  const { namespace, name, container } = request;
  const podName = `${namespace}/${name}`;
  const pod = options.getPod(namespace, name);
  if (!pod) throw new LogRequestError(404, `pod ${podName} is not on this node`);
  if (!(pod.spec?.containers ?? []).some((c) => c.name === container))
    throw new LogRequestError(404, `container "${container}" is not in pod ${podName}`);
  const logOptions = parseLogOptions(request.search, pod);
  const query: ContainerLogsQuery = {
    container,
    ...(logOptions.device !== undefined ? { device: logOptions.device } : {}),
    ...(logOptions.tailLines !== undefined ? { tailLines: logOptions.tailLines } : {}),
    ...(logOptions.since !== undefined ? { since: logOptions.since } : {}),
    // following needs every line's time, to ask only for newer ones
    timestamps: logOptions.timestamps || logOptions.follow,
  };
  const first = await options.provider.containerLogs(namespace, name, query).catch((error: unknown) => {
    options.logger.warn({ pod: podName, container, err: redact(String(error)) }, "container logs failed");
    throw providerFailure(error, podName, container);
  });
  response.writeHead(200, { "content-type": "text/plain; charset=utf-8" });
  const writer = new LogWriter(response, logOptions.limitBytes);
  const shown = (line: string) => (logOptions.timestamps ? line : splitTimestamp(line).text);
  let open = true;
  for (const line of linesOf(first.text))
    if (open) open = writer.write(logOptions.follow ? shown(line) : line);
  if (!logOptions.follow || !open) return void response.end();

  // follow: newer lines from the same device, until the caller goes away
  const closed = new AbortController();
  response.once("close", () => closed.abort());
  const cursor = new FollowCursor(Date.now() - 1000);
  for (const line of linesOf(first.text)) cursor.remember(line);
  let failures = 0;
  while (open && !closed.signal.aborted) {
    await sleep(options.followPollMs ?? 2_000, undefined, { signal: closed.signal }).catch(() => undefined);
    if (closed.signal.aborted) break;
    let text: string;
    try {
      ({ text } = await options.provider.containerLogs(namespace, name, {
        container,
        device: first.deviceId,
        since: cursor.sinceSeconds,
        timestamps: true,
      }));
      failures = 0;
    } catch (error) {
      failures += 1;
      options.logger.debug(
        { pod: podName, container, err: redact(String(error)) },
        "following logs: poll failed",
      );
      if (failures > followFailuresTolerated || (error instanceof ProviderCallError && error.permanent))
        break;
      continue;
    }
    for (const line of linesOf(text)) {
      if (!cursor.isNew(line)) continue;
      cursor.remember(line);
      if (open) open = writer.write(shown(line));
    }
  }
  response.end();
}
