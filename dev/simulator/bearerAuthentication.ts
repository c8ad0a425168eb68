// Checks `Authorization: Bearer <JWT>` the way IoT Hub does for a Microsoft Entra ID token: signed
// (RS256) by an issuer the hub trusts, for the IoT Hub audience, within its validity (the same check
// serves the Event Hub-compatible endpoint's CBS "jwt" tokens, for the Event Hubs audience). Failures are
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

/** A token's verdict: why it is refused, or until when it is good. */
export type AccessTokenCheck = { refused: string } | { expiresOn: Date };

/**
 * Checks a JWT access token as Entra ID's relying parties do: signed (RS256) by a trusted issuer, for
 * one of `audiences`, within its validity. Reasons never echo the token.
 */
export function checkAccessToken(
  token: string,
  issuers: readonly TrustedTokenIssuer[],
  audiences: readonly string[],
  now: Date,
): AccessTokenCheck {
  const parts = token.trim().split(".");
  const [encodedHeader = "", encodedClaims = "", signature = ""] = parts;
  const tokenHeader = decodePart<{ alg?: unknown }>(encodedHeader);
  const claims = decodePart<Claims>(encodedClaims);
  if (parts.length !== 3 || !tokenHeader || !claims) return { refused: "bearer token is not a JWT" };
  if (tokenHeader.alg !== "RS256") return { refused: "bearer token is not signed with RS256" };
  const issuer = issuers.find((candidate) => candidate.issuer === claims.iss);
  if (!issuer) return { refused: "bearer token is from an issuer this hub does not trust" };
  const signed = Buffer.from(`${encodedHeader}.${encodedClaims}`);
  if (!verify("sha256", signed, issuer.publicKey, Buffer.from(signature, "base64url")))
    return { refused: "bearer token signature does not match its issuer's key" };
  const audience = typeof claims.aud === "string" ? claims.aud.replace(/\/+$/, "") : undefined;
  if (audience === undefined || !audiences.includes(audience))
    return { refused: "bearer token is for another audience" };
  const seconds = now.getTime() / 1000;
  if (typeof claims.exp !== "number" || claims.exp <= seconds) return { refused: "bearer token expired" };
  if (typeof claims.nbf === "number" && claims.nbf > seconds + 300)
    return { refused: "bearer token not valid yet" };
  return { expiresOn: new Date(claims.exp * 1000) };
}

/** Throws a 401 HubRestError unless the header carries a valid token from a trusted issuer. */
export function verifyBearerToken(header: string, issuers: readonly TrustedTokenIssuer[], now: Date): void {
  const check = checkAccessToken(header.slice(bearerPrefix.length), issuers, [iotHubAudience], now);
  if ("refused" in check) throw unauthorized(check.refused);
}
