// Access keys, as the Functions host checks them: a request presents a key in the
// `x-functions-key` header or the `code` query parameter; `function` level accepts a function key
// or the master key, `admin` level only the master key, `anonymous` needs none.
import { createHmac, timingSafeEqual } from "node:crypto";
import type { IncomingMessage } from "node:http";

export interface HostKeys {
  /** Master key: admin level, and accepted wherever a function key is. */
  master?: string;
  /** Keys accepted by functions with authLevel "function". */
  function?: string[];
}

export type AuthLevel = "anonymous" | "function" | "admin";

function sameSecret(presented: string, expected: string): boolean {
  const a = Buffer.from(presented);
  const b = Buffer.from(expected);
  return a.length === b.length && timingSafeEqual(a, b);
}

export function presentedKey(request: IncomingMessage, url: URL): string | undefined {
  const header = request.headers["x-functions-key"];
  if (typeof header === "string" && header.length > 0) return header;
  return url.searchParams.get("code") ?? undefined;
}

export function isAuthorized(level: AuthLevel, keys: HostKeys, presented: string | undefined): boolean {
  if (level === "anonymous") return true;
  if (presented === undefined) return false;
  const accepted = level === "admin" ? [keys.master] : [keys.master, ...(keys.function ?? [])];
  return accepted.some((key) => key !== undefined && key.length > 0 && sameSecret(presented, key));
}

export function parseAuthLevel(value: unknown, functionName: string): AuthLevel {
  const level = typeof value === "string" ? value.toLowerCase() : "anonymous";
  if (level === "anonymous" || level === "function" || level === "admin") return level;
  throw new Error(
    `function "${functionName}": authLevel "${String(value)}" is not anonymous, function or admin`,
  );
}

/**
 * The system key of the Durable extension's webhooks (the real host keeps a separate
 * `durabletask_extension` key): derived from the master key so that status URLs handed to callers
 * never carry the master key itself, and stay valid across restarts.
 */
export function durableWebhookKey(keys: HostKeys): string | undefined {
  if (!keys.master) return undefined;
  return createHmac("sha256", keys.master).update("durabletask_extension").digest("base64url");
}
