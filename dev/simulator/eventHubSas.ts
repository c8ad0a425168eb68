// Shared access signature checks for the simulated Event Hub endpoint: a token is
// "SharedAccessSignature sr=<url-encoded audience>&sig=<url-encoded base64 HMAC-SHA256>&se=<expiry s>&skn=<key name>"
// where the signature covers "<sr as sent>\n<se>" under the key (the key's text, as Event Hubs uses it).
import { parseSasToken, sasSignatureMatches, sasUnexpired } from "./sharedAccessSignature.js";

export interface SasKey {
  keyName: string;
  key: string;
}

export type SasCheck =
  | { ok: true; audience: string; expiresOn: Date }
  | { ok: false; reason: string; condition: "amqp:unauthorized-access" };

function refuse(reason: string): SasCheck {
  return { ok: false, reason, condition: "amqp:unauthorized-access" };
}

/** The path of an audience URI without scheme and host, lower-cased, without trailing slash. */
export function audiencePath(audience: string): string {
  const withoutScheme = audience.replace(/^[a-z]+:\/\//i, "");
  const slash = withoutScheme.indexOf("/");
  const path = slash === -1 ? "" : withoutScheme.slice(slash + 1);
  return path.replace(/\/+$/, "").toLowerCase();
}

/** True when a token for grantedPath also covers resourcePath (same path or a parent of it, segment-wise). */
export function pathCovers(grantedPath: string, resourcePath: string): boolean {
  const resource = resourcePath.toLowerCase();
  return grantedPath === "" || resource === grantedPath || resource.startsWith(`${grantedPath}/`);
}

/** Checks a SAS token's form, key name, expiry and signature. Reasons never echo the token or key. */
export function checkSasToken(token: unknown, key: SasKey, now: Date = new Date()): SasCheck {
  const fields = parseSasToken(token);
  if ("refused" in fields) return refuse(fields.refused);
  let keyName: string;
  let audience: string;
  try {
    keyName = decodeURIComponent(fields.skn);
    audience = decodeURIComponent(fields.sr);
  } catch {
    return refuse("the token has a malformed field");
  }
  if (keyName !== key.keyName) {
    return refuse(`the token's key name is not an authorization rule of this hub`);
  }
  if (!sasUnexpired(fields.se, now)) return refuse("the token has expired");
  // Event Hubs signs with the key's text, not its base64-decoded bytes.
  if (!sasSignatureMatches(fields, key.key)) {
    return refuse("the token's signature does not match the shared access key");
  }
  return { ok: true, audience, expiresOn: new Date(Number(fields.se) * 1000) };
}
