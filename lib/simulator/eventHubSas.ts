// Shared access signature checks for the simulated Event Hub endpoint: a token is
// "SharedAccessSignature sr=<url-encoded audience>&sig=<url-encoded base64 HMAC-SHA256>&se=<expiry s>&skn=<key name>"
// where the signature covers "<sr as sent>\n<se>" under the key (the key's text, as Event Hubs uses it).
import { createHmac, timingSafeEqual } from "node:crypto";

export interface SasKey {
  keyName: string;
  key: string;
}

export type SasCheck =
  | { ok: true; audience: string; expiresOn: Date }
  | { ok: false; reason: string; condition: "amqp:unauthorized-access" };

const PREFIX = "SharedAccessSignature ";

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
  if (typeof token !== "string" || !token.startsWith(PREFIX)) {
    return refuse("the token is not a shared access signature");
  }
  const fields = new Map<string, string>();
  for (const pair of token.slice(PREFIX.length).split("&")) {
    const equals = pair.indexOf("=");
    if (equals > 0) fields.set(pair.slice(0, equals), pair.slice(equals + 1));
  }
  const sr = fields.get("sr");
  const sig = fields.get("sig");
  const se = fields.get("se");
  const skn = fields.get("skn");
  if (sr === undefined || sig === undefined || se === undefined || skn === undefined) {
    return refuse("the token lacks one of sr, sig, se, skn");
  }
  let keyName: string;
  let signature: Buffer;
  let audience: string;
  try {
    keyName = decodeURIComponent(skn);
    signature = Buffer.from(decodeURIComponent(sig), "base64");
    audience = decodeURIComponent(sr);
  } catch {
    return refuse("the token has a malformed field");
  }
  if (keyName !== key.keyName) {
    return refuse(`the token's key name is not an authorization rule of this hub`);
  }
  const expirySeconds = Number(se);
  if (!Number.isInteger(expirySeconds) || expirySeconds * 1000 <= now.getTime()) {
    return refuse("the token has expired");
  }
  const expected = createHmac("sha256", key.key).update(`${sr}\n${se}`).digest();
  if (signature.length !== expected.length || !timingSafeEqual(signature, expected)) {
    return refuse("the token's signature does not match the shared access key");
  }
  return { ok: true, audience, expiresOn: new Date(expirySeconds * 1000) };
}
