// Errors as IoT Hub's REST surface returns them: a status code and a body whose Message reads
// "ErrorCode:<code>;<text>" (azure-iothub parses exactly that shape), with a tracking id the way the
// service adds one. Messages never carry keys or tokens, nor semicolons (the SDK splits on the first one).
import { randomBytes } from "node:crypto";

export class HubRestError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    /** Extra response headers, e.g. Retry-After on throttling. */
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
    this.name = "HubRestError";
  }

  /** The response body the hub sends for this error. */
  body(now: Date): { Message: string; ExceptionMessage: string } {
    const trackingId = randomBytes(16).toString("hex");
    return {
      Message: `ErrorCode:${this.code};${this.message.replaceAll(";", ",")}`,
      ExceptionMessage: `Tracking ID:${trackingId}-G:0-TimeStamp:${formatHubTimestamp(now)}`,
    };
  }
}

/** The hub's US-style timestamp in error bodies, e.g. 11/25/2026 14:03:07. */
function formatHubTimestamp(date: Date): string {
  const pad = (n: number) => String(n).padStart(2, "0");
  return (
    `${pad(date.getUTCMonth() + 1)}/${pad(date.getUTCDate())}/${date.getUTCFullYear()} ` +
    `${pad(date.getUTCHours())}:${pad(date.getUTCMinutes())}:${pad(date.getUTCSeconds())}`
  );
}

export const badRequest = (message: string) => new HubRestError(400, "ArgumentInvalid", message);
export const deviceNotFound = (deviceId: string) =>
  new HubRestError(404, "DeviceNotFound", `Device ${deviceId} not registered`);
export const moduleNotFound = (deviceId: string, moduleId: string) =>
  new HubRestError(404, "ModuleNotFound", `Module ${moduleId} on device ${deviceId} not registered`);
export const configurationNotFound = (id: string) =>
  new HubRestError(404, "ConfigurationNotFound", `Configuration ${id} not found`);
export const preconditionFailed = (what: string) =>
  new HubRestError(
    412,
    "PreconditionFailed",
    `Precondition failed: the If-Match etag does not match ${what}`,
  );
