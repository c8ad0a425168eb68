// Errors the provider API answers with: an HTTP status and the contract's ProviderError body,
// naming the field at fault and the reason. Messages never carry values from the request.
import type { z } from "zod";
import type { ProviderError } from "./providerContract.js";

export class ProviderHttpError extends Error {
  constructor(
    readonly status: number,
    readonly body: ProviderError["error"],
    /** sent as Retry-After: when the caller may try again */
    readonly retryAfterSeconds?: number,
  ) {
    super(body.message);
    this.name = "ProviderHttpError";
  }
}

/** `spec.containers[0].image` style path of a zod issue. */
function issuePath(path: readonly PropertyKey[], prefix: string): string {
  return path.reduce<string>((text, part) => {
    if (typeof part === "number") return `${text}[${part}]`;
    return text === "" ? String(part) : `${text}.${String(part)}`;
  }, prefix);
}

/** A 400 naming every field zod refused; the first one is `field`. */
export function invalidRequest(error: z.ZodError, prefix = ""): ProviderHttpError {
  const problems = error.issues.map((issue) => ({
    field: issuePath(issue.path, prefix) || "(body)",
    reason: issue.message,
  }));
  const first = problems[0] ?? { field: "(body)", reason: "is invalid" };
  return new ProviderHttpError(400, {
    code: "InvalidRequest",
    message: problems.map((problem) => `${problem.field}: ${problem.reason}`).join("; "),
    field: first.field,
    problems,
  });
}

export function badRequest(field: string, reason: string): ProviderHttpError {
  return new ProviderHttpError(400, { code: "InvalidRequest", message: `${field}: ${reason}`, field });
}

export function notFound(code: string, message: string): ProviderHttpError {
  return new ProviderHttpError(404, { code, message });
}

/** 403: the caller is known, but this is not its to ask (another node's hub, node or pod). */
export function forbidden(code: string, message: string): ProviderHttpError {
  return new ProviderHttpError(403, { code, message });
}

/** 503: the app is behind on its work; the caller tries again after `retryAfterSeconds`. */
export function busy(message: string, retryAfterSeconds: number): ProviderHttpError {
  return new ProviderHttpError(503, { code: "AppBusy", message }, retryAfterSeconds);
}
