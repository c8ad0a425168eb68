// Checks the `Authorization: SharedAccessSignature sr=..&sig=..&se=..&skn=..` header the way IoT Hub
// does for a shared access policy: right policy name, resource under this hub, not expired, and an
// HMAC-SHA256 signature made with the policy key. Failures are 401 IotHubUnauthorizedAccess and say why
// without echoing the token.
import { createHmac, timingSafeEqual } from "node:crypto";
import { HubError } from "./hubErrors.js";

export interface SharedAccessPolicy {
  hostName: string;
  keyName: string;
  /** Base64 key, as in the connection string. */
  key: string;
}

/** Builds a token the way the Azure SDKs do; tests use it to craft expired or wrongly signed ones. */
export function createSasToken(policy: SharedAccessPolicy, expiresAtEpochSeconds: number): string {
  const resource = encodeURIComponent(policy.hostName);
  const signature = sign(policy.key, `${resource}\n${expiresAtEpochSeconds}`);
  return (
    `SharedAccessSignature sr=${resource}&sig=${encodeURIComponent(signature)}` +
    `&se=${expiresAtEpochSeconds}&skn=${encodeURIComponent(policy.keyName)}`
  );
}

function sign(base64Key: string, text: string): string {
  return createHmac("sha256", Buffer.from(base64Key, "base64")).update(text).digest("base64");
}

const unauthorized = (reason: string) =>
  new HubError(401, "IotHubUnauthorizedAccess", `Unauthorized: ${reason}`);

/** Throws a 401 HubError unless the header carries a valid, unexpired token for this policy. */
export function verifySasToken(header: string | undefined, policy: SharedAccessPolicy, now: Date): void {
  const prefix = "SharedAccessSignature ";
  if (!header?.startsWith(prefix)) throw unauthorized("missing SharedAccessSignature authorization header");
  const fields = new Map<string, string>();
  for (const part of header.slice(prefix.length).split("&")) {
    const equals = part.indexOf("=");
    if (equals > 0) fields.set(part.slice(0, equals), part.slice(equals + 1));
  }
  const resource = fields.get("sr");
  const signature = fields.get("sig");
  const expiry = fields.get("se");
  const keyName = fields.get("skn");
  if (!resource || !signature || !expiry || !keyName) throw unauthorized("token lacks sr, sig, se or skn");
  if (decodeURIComponent(keyName) !== policy.keyName) throw unauthorized("unknown shared access policy");
  const resourceHost = decodeURIComponent(resource).toLowerCase().split("/")[0];
  if (resourceHost !== policy.hostName.toLowerCase()) throw unauthorized("token is for another hub");
  const expiresAt = Number(expiry);
  if (!Number.isFinite(expiresAt) || expiresAt * 1000 <= now.getTime()) throw unauthorized("token expired");
  const expected = Buffer.from(sign(policy.key, `${resource}\n${expiry}`));
  const given = Buffer.from(decodeURIComponent(signature));
  if (expected.length !== given.length || !timingSafeEqual(expected, given)) {
    throw unauthorized("signature does not match the policy key");
  }
}
