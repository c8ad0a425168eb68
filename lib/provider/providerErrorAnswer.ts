// What the provider API answers when a request fails: the contract's errors as they are, the hub's
// errors with their (redacted) reason, and anything else as a bare 500 whose details go to the log
// only — an unexpected error (storage, durable client, a bug) may carry anything, secrets included.
import { HubError, HubNotFoundError } from "../hub/hubErrors.js";
import { redact } from "../hub/redact.js";
import type { ProviderError } from "./providerContract.js";
import { ProviderHttpError } from "./providerErrors.js";

export interface ErrorAnswer {
  status: number;
  body: ProviderError;
  headers?: Record<string, string>;
  /** for the app's log (redacted), when the error was unexpected */
  logMessage?: string;
}

export function errorAnswer(error: unknown, invocationId: string): ErrorAnswer {
  if (error instanceof ProviderHttpError)
    return {
      status: error.status,
      body: { error: error.body },
      ...(error.retryAfterSeconds !== undefined && {
        headers: { "retry-after": String(error.retryAfterSeconds) },
      }),
    };
  const message = redact(error instanceof Error ? error.message : String(error));
  // the hub answered, but not with what was asked: the caller's problem (404) or the hub's (502)
  if (error instanceof HubNotFoundError)
    return { status: 404, body: { error: { code: "NotFoundOnHub", message } } };
  if (error instanceof HubError) return { status: 502, body: { error: { code: "HubError", message } } };
  return {
    status: 500,
    body: {
      error: {
        code: "InternalError",
        message: `the provider failed unexpectedly; the app's log has the details (invocation ${invocationId})`,
      },
    },
    logMessage: message,
  };
}
