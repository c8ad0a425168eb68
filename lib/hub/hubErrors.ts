// Typed errors of the hub client. Each names the operation and its target
// (`create configuration "web-1a2b": already exists`) and keeps only what a caller needs to decide
// (status, the hub's error code, attempts) — never the SDK error itself, whose response object
// carries the request's Authorization header.

export interface HubErrorDetails {
  /** What was being done: "create", "read", "replace", "delete", "query", "invoke GetModuleLogs", ... */
  operation: string;
  /** What it was done to: `configuration "web-1a2b"`, `device "dev-1"`, `module "dev-1/$edgeAgent"`. */
  target: string;
  /** Why it failed, already redacted. */
  reason: string;
  statusCode?: number;
  /** The hub's error code (e.g. "PreconditionFailed", "412001") when it sent one. */
  hubErrorCode?: string;
  /** How many attempts were made before giving up. */
  attempts: number;
}

export class HubError extends Error {
  readonly operation: string;
  readonly target: string;
  readonly reason: string;
  readonly statusCode: number | undefined;
  readonly hubErrorCode: string | undefined;
  readonly attempts: number;

  constructor(details: HubErrorDetails) {
    super(`${details.operation} ${details.target}: ${details.reason}`);
    this.name = new.target.name;
    this.operation = details.operation;
    this.target = details.target;
    this.reason = details.reason;
    this.statusCode = details.statusCode;
    this.hubErrorCode = details.hubErrorCode;
    this.attempts = details.attempts;
  }
}

/** 404: the configuration, device or module does not exist (or the device is not online for a method). */
export class HubNotFoundError extends HubError {}
/** 409 / 412: already exists, or the etag no longer matches. */
export class HubConflictError extends HubError {}
/** 403 or a "limit exceeded" code: e.g. too many configurations for the hub's tier. */
export class HubQuotaExceededError extends HubError {}
/** 400: the hub refused the request's content; the reason carries the hub's message. */
export class HubInvalidContentError extends HubError {}
/** 401: the key or token is wrong or expired. */
export class HubUnauthorizedError extends HubError {}
/** 429 after every allowed retry was spent. */
export class HubThrottledError extends HubError {}
/** 5xx, timeouts and broken connections after every allowed retry was spent. */
export class HubUnavailableError extends HubError {}
