// Kubernetes API errors in words: the status code and the apiserver's message, nothing else
// (the client's own error text carries response headers, which are noise in a log line).
import { ApiException } from "@kubernetes/client-node";

export function kubeStatusCode(error: unknown): number | undefined {
  return error instanceof ApiException ? error.code : undefined;
}

export const isNotFound = (error: unknown) => kubeStatusCode(error) === 404;
export const isConflict = (error: unknown) => kubeStatusCode(error) === 409;

export function describeError(error: unknown): string {
  if (error instanceof ApiException) {
    const body: unknown = typeof error.body === "string" ? safeJson(error.body) : error.body;
    const message = (body as { message?: unknown } | undefined)?.message;
    return `HTTP ${error.code}${typeof message === "string" ? `: ${message}` : ""}`;
  }
  return error instanceof Error ? error.message : String(error);
}

/** `doing what` + the cause, for every error the adapter logs or rethrows. */
export class AdapterError extends Error {
  constructor(what: string, cause: unknown) {
    super(`${what}: ${describeError(cause)}`, { cause });
    this.name = "AdapterError";
  }
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}
