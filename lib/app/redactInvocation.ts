// Every log line and every error of every function invocation passes through redact(): the app's
// pre-invocation hook (functions/redaction.ts) wraps the invocation's log methods and its handler.
// The host writes what a function logs and the message of what it throws to its own logs (and, for
// an activity, into the orchestration's history), so both are cleaned before they leave the handler.
import { format } from "node:util";
import type { InvocationContext, PreInvocationContext } from "@azure/functions";
import { redact } from "../hub/redact.js";

const logMethods = ["log", "trace", "debug", "info", "warn", "error"] as const;

/** A thrown value with its message (and stack) redacted; the same object when it is an Error. */
export function redactedError(error: unknown): unknown {
  if (!(error instanceof Error)) return new Error(redact(format(error)));
  error.message = redact(error.message);
  if (error.stack !== undefined) error.stack = redact(error.stack);
  return error;
}

/** Makes the context's log methods redact what they are given (formatted as the host would). */
export function redactLogs(context: InvocationContext): void {
  for (const method of logMethods) {
    const original = context[method].bind(context);
    context[method] = (...args: unknown[]) => original(redact(format(...args)));
  }
}

export function redactInvocation(hook: PreInvocationContext): void {
  redactLogs(hook.invocationContext);
  const handler = hook.functionHandler;
  hook.functionHandler = async (...args: Parameters<typeof handler>): Promise<unknown> => {
    try {
      return (await handler(...args)) as unknown;
    } catch (error) {
      throw redactedError(error);
    }
  };
}
