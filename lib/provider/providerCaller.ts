// The caller of a provider API request: the virtual node whose key it presents, where the Functions
// host reads keys (the `x-functions-key` header, else the `code` query parameter). A key the host
// accepts but that belongs to no node (the host's default or master key) is refused with 403.
import { forbidden } from "./providerErrors.js";
import type { NodeCredentials, NodeIdentity } from "./nodeCredentials.js";

interface Headers {
  get(name: string): string | null;
}

export function callerOf(
  credentials: NodeCredentials,
  headers: Headers,
  query: URLSearchParams,
): NodeIdentity {
  const presented = headers.get("x-functions-key") || query.get("code") || undefined;
  const caller = credentials.identify(presented);
  if (caller !== undefined) return caller;
  throw forbidden(
    "NotANodeCredential",
    credentials.size === 0
      ? "no virtual node may call the provider API: CONNECTOR_NODES registers none"
      : "the key presented is not the credential of a virtual node registered in CONNECTOR_NODES",
  );
}
