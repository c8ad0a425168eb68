// Checks the `Authorization: SharedAccessSignature sr=..&sig=..&se=..&skn=..` header the way IoT Hub
// does for a shared access policy: right policy name, resource under this hub, not expired, and an
// HMAC-SHA256 signature made with the policy key. Failures are 401 IotHubUnauthorizedAccess and say why
// without echoing the token.
import {
  parseSasToken,
  sasPrefix,
  sasSignature,
  sasSignatureMatches,
  sasUnexpired,
} from "./sharedAccessSignature.js";
import { HubRestError } from "./restErrors.js";

export interface SharedAccessPolicy {
  hostName: string;
  keyName: string;
  /** Base64 key, as in the connection string. */
  key: string;
}

/** Builds a token the way the Azure SDKs do; tests use it to craft expired or wrongly signed ones. */
export function createSasToken(policy: SharedAccessPolicy, expiresAtEpochSeconds: number): string {
  const resource = encodeURIComponent(policy.hostName);
  const signature = sasSignature(Buffer.from(policy.key, "base64"), resource, String(expiresAtEpochSeconds));
  return (
    `${sasPrefix}sr=${resource}&sig=${encodeURIComponent(signature)}` +
    `&se=${expiresAtEpochSeconds}&skn=${encodeURIComponent(policy.keyName)}`
  );
}

const unauthorized = (reason: string) =>
  new HubRestError(401, "IotHubUnauthorizedAccess", `Unauthorized: ${reason}`);

/** Throws a 401 HubRestError unless the header carries a valid, unexpired token for this policy. */
export function verifySasToken(header: string | undefined, policy: SharedAccessPolicy, now: Date): void {
  if (!header?.startsWith(sasPrefix))
    throw unauthorized("missing SharedAccessSignature authorization header");
  const fields = parseSasToken(header);
  if ("refused" in fields) throw unauthorized("token lacks sr, sig, se or skn");
  if (decodeURIComponent(fields.skn) !== policy.keyName) throw unauthorized("unknown shared access policy");
  const resourceHost = decodeURIComponent(fields.sr).toLowerCase().split("/")[0];
  if (resourceHost !== policy.hostName.toLowerCase()) throw unauthorized("token is for another hub");
  if (!sasUnexpired(fields.se, now)) throw unauthorized("token expired");
  // IoT Hub signs with the base64-decoded policy key.
  if (!sasSignatureMatches(fields, Buffer.from(policy.key, "base64"))) {
    throw unauthorized("signature does not match the policy key");
  }
}
