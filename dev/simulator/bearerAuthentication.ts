// Checks `Authorization: Bearer <JWT>` the way IoT Hub does for a Microsoft Entra ID token: signed
// (RS256) by an issuer the hub trusts, for the IoT Hub audience, within its validity. Failures are
// 401 IotHubUnauthorizedAccess and say why without echoing the token. (Role checks are out of scope:
// a trusted token may do everything, as with the owner policy.)
import { verify } from "node:crypto";
import type { TrustedTokenIssuer } from "./localTokenIssuer.js";
import { HubRestError } from "./restErrors.js";

export const bearerPrefix = "Bearer ";
export const iotHubAudience = "https://iothubs.azure.net";

const unauthorized = (reason: string) =>
  new HubRestError(401, "IotHubUnauthorizedAccess", `Unauthorized: ${reason}`);

interface Claims {
  aud?: unknown;
  iss?: unknown;
  exp?: unknown;
  nbf?: unknown;
}

function decodePart<T>(part: string): T | undefined {
  try {
    return JSON.parse(Buffer.from(part, "base64url").toString("utf8")) as T;
  } catch {
    return undefined;
  }
}

/** Throws a 401 HubRestError unless the header carries a valid token from a trusted issuer. */
export function verifyBearerToken(header: string, issuers: readonly TrustedTokenIssuer[], now: Date): void {
  const parts = header.slice(bearerPrefix.length).trim().split(".");
  const [encodedHeader = "", encodedClaims = "", signature = ""] = parts;
  const tokenHeader = decodePart<{ alg?: unknown }>(encodedHeader);
  const claims = decodePart<Claims>(encodedClaims);
  if (parts.length !== 3 || !tokenHeader || !claims) throw unauthorized("bearer token is not a JWT");
  if (tokenHeader.alg !== "RS256") throw unauthorized("bearer token is not signed with RS256");
  const issuer = issuers.find((candidate) => candidate.issuer === claims.iss);
  if (!issuer) throw unauthorized("bearer token is from an issuer this hub does not trust");
  const signed = Buffer.from(`${encodedHeader}.${encodedClaims}`);
  if (!verify("sha256", signed, issuer.publicKey, Buffer.from(signature, "base64url")))
    throw unauthorized("bearer token signature does not match its issuer's key");
  if (claims.aud !== iotHubAudience && claims.aud !== `${iotHubAudience}/`)
    throw unauthorized("bearer token is for another audience");
  const seconds = now.getTime() / 1000;
  if (typeof claims.exp !== "number" || claims.exp <= seconds) throw unauthorized("bearer token expired");
  if (typeof claims.nbf === "number" && claims.nbf > seconds + 300)
    throw unauthorized("bearer token not valid yet");
}
