// What went wrong in one attempt, read from whatever azure-iothub rejected with: an HTTP error
// (RestApiClient.translateError puts the IncomingMessage on `err.response` and the body text on
// `err.responseBody`), a socket error (`err.code` ECONNRESET, ETIMEDOUT, ...), or an argument error
// thrown by the SDK before sending. Classifying here keeps the retry loop and the error mapping
// free of SDK shapes.

import { parseRetryAfter } from "./backoff.js";
import {
  HubConflictError,
  HubError,
  HubInvalidContentError,
  HubNotFoundError,
  HubQuotaExceededError,
  HubThrottledError,
  HubUnauthorizedError,
  HubUnavailableError,
} from "./hubErrors.js";
import { redact } from "./redact.js";

export type FailureKind =
  | "throttled"
  | "transient"
  | "notFound"
  | "conflict"
  | "quotaExceeded"
  | "invalidContent"
  | "unauthorized"
  | "other";

export interface HubFailure {
  kind: FailureKind;
  statusCode?: number;
  hubErrorCode?: string;
  /** The hub's or the socket's explanation, not yet redacted. */
  message: string;
  /** From a Retry-After header, in milliseconds. */
  retryAfterMs?: number;
  /** Set when the request may not have reached the hub at all (connection refused). */
  notDelivered?: boolean;
}

const TRANSIENT_SOCKET_CODES = new Set([
  "ECONNRESET",
  "ETIMEDOUT",
  "ECONNREFUSED",
  "EPIPE",
  "EAI_AGAIN",
  "ENETUNREACH",
  "EHOSTUNREACH",
  "ECONNABORTED",
  "UND_ERR_SOCKET",
]);
/** Socket errors that prove the request was never sent, so even a non-idempotent call may be repeated. */
const NOT_DELIVERED_SOCKET_CODES = new Set(["ECONNREFUSED", "EAI_AGAIN", "ENETUNREACH", "EHOSTUNREACH"]);

const QUOTA_CODE = /quota|limitexceeded|403002|403010/i;

interface SdkErrorShape {
  message?: unknown;
  code?: unknown;
  responseBody?: unknown;
  response?: { statusCode?: unknown; headers?: Record<string, string | string[] | undefined> };
}

/** The hub's error body: `{"Message":"ErrorCode:Code;text", ...}` or `{"errorCode":..., "message":...}`. */
function parseHubErrorBody(body: string): { code?: string; message?: string } {
  let parsed: unknown;
  try {
    parsed = JSON.parse(body);
  } catch {
    return body.trim() ? { message: body.trim().slice(0, 500) } : {};
  }
  if (typeof parsed !== "object" || parsed === null) return {};
  const record = parsed as Record<string, unknown>;
  const rawMessage = record.Message ?? record.message;
  const rawCode = record.ErrorCode ?? record.errorCode ?? record.code;
  let code = typeof rawCode === "string" || typeof rawCode === "number" ? String(rawCode) : undefined;
  let message = typeof rawMessage === "string" ? rawMessage : undefined;
  const legacy = message && /^ErrorCode:([^;]+);(.*)$/s.exec(message);
  if (legacy) {
    code ??= legacy[1];
    message = legacy[2];
  }
  return { ...(code !== undefined && { code }), ...(message !== undefined && { message: message.trim() }) };
}

function kindOfStatus(status: number, hubErrorCode: string | undefined): FailureKind {
  if (status === 429) return "throttled";
  if (hubErrorCode && QUOTA_CODE.test(hubErrorCode)) return "quotaExceeded";
  if (status === 408 || status >= 500) return "transient";
  if (status === 400 || status === 413) return "invalidContent";
  if (status === 401) return "unauthorized";
  if (status === 403) return "quotaExceeded";
  if (status === 404) return "notFound";
  if (status === 409 || status === 412) return "conflict";
  return "other";
}

/** Describes one failed attempt; `nowMs` resolves an HTTP-date Retry-After. */
export function describeFailure(error: unknown, nowMs: number): HubFailure {
  const sdkError = (typeof error === "object" && error !== null ? error : {}) as SdkErrorShape;
  const status = sdkError.response?.statusCode;
  const errorMessage = typeof sdkError.message === "string" ? sdkError.message : String(error);

  if (typeof status === "number") {
    const body = typeof sdkError.responseBody === "string" ? parseHubErrorBody(sdkError.responseBody) : {};
    const retryAfterMs = parseRetryAfter(sdkError.response?.headers?.["retry-after"], nowMs);
    return {
      kind: kindOfStatus(status, body.code),
      statusCode: status,
      ...(body.code !== undefined && { hubErrorCode: body.code }),
      message: body.message || errorMessage || `HTTP ${status}`,
      ...(retryAfterMs !== undefined && { retryAfterMs }),
    };
  }

  const code = typeof sdkError.code === "string" ? sdkError.code : undefined;
  if ((code && TRANSIENT_SOCKET_CODES.has(code)) || /socket hang up/i.test(errorMessage)) {
    return {
      kind: "transient",
      message: code && !errorMessage.includes(code) ? `${code}: ${errorMessage}` : errorMessage,
      ...(code !== undefined && NOT_DELIVERED_SOCKET_CODES.has(code) && { notDelivered: true }),
    };
  }
  return { kind: "other", message: errorMessage };
}

const ERROR_CLASS_OF_KIND: Record<FailureKind, typeof HubError> = {
  throttled: HubThrottledError,
  transient: HubUnavailableError,
  notFound: HubNotFoundError,
  conflict: HubConflictError,
  quotaExceeded: HubQuotaExceededError,
  invalidContent: HubInvalidContentError,
  unauthorized: HubUnauthorizedError,
  other: HubError,
};

const REASON_PREFIX: Partial<Record<FailureKind, string>> = {
  throttled: "throttled by the hub",
  transient: "hub unavailable",
  unauthorized: "unauthorized (check the connection string's key and policy)",
  quotaExceeded: "quota exceeded",
};

export interface FailureContext {
  operation: string;
  target: string;
  attempts: number;
  /** Exact secret values to strip in addition to the known secret shapes. */
  secrets: readonly string[];
}

/** The typed, redacted error a caller sees for a failure it cannot recover from. */
export function toHubError(failure: HubFailure, context: FailureContext): HubError {
  const status = failure.statusCode === undefined ? "" : ` (HTTP ${failure.statusCode}`;
  const code = failure.hubErrorCode === undefined ? "" : ` ${failure.hubErrorCode}`;
  const statusText = status ? `${status}${code})` : "";
  const prefix = REASON_PREFIX[failure.kind];
  const tries = context.attempts > 1 ? ` after ${context.attempts} attempts` : "";
  const reason = redact(
    `${prefix ? `${prefix}${tries}: ` : ""}${failure.message}${statusText}`,
    context.secrets,
  );
  const ErrorClass = ERROR_CLASS_OF_KIND[failure.kind];
  return new ErrorClass({
    operation: context.operation,
    target: context.target,
    reason,
    attempts: context.attempts,
    ...(failure.statusCode !== undefined && { statusCode: failure.statusCode }),
    ...(failure.hubErrorCode !== undefined && { hubErrorCode: failure.hubErrorCode }),
  });
}
