// The token format both of the simulator's endpoints check:
// "SharedAccessSignature sr=<url-encoded resource>&sig=<url-encoded base64 HMAC-SHA256>&se=<expiry s>&skn=<key name>",
// signed over "<sr as sent>\n<se>". IoT Hub signs with the base64-decoded key, Event Hubs with the
// key's text, so the caller passes the key bytes.
import { createHmac, timingSafeEqual } from "node:crypto";

export const sasPrefix = "SharedAccessSignature ";

/** The four fields, as sent (still url-encoded). */
export interface SasFields {
  sr: string;
  sig: string;
  se: string;
  skn: string;
}

/** The fields of a token, or a reason it is not one. Reasons never echo the token. */
export function parseSasToken(token: unknown): SasFields | { refused: string } {
  if (typeof token !== "string" || !token.startsWith(sasPrefix)) {
    return { refused: "the token is not a shared access signature" };
  }
  const fields = new Map<string, string>();
  for (const pair of token.slice(sasPrefix.length).split("&")) {
    const equals = pair.indexOf("=");
    if (equals > 0) fields.set(pair.slice(0, equals), pair.slice(equals + 1));
  }
  const [sr, sig, se, skn] = ["sr", "sig", "se", "skn"].map((name) => fields.get(name));
  if (!sr || !sig || !se || !skn) return { refused: "the token lacks one of sr, sig, se, skn" };
  return { sr, sig, se, skn };
}

/** Base64 HMAC-SHA256 of "<sr>\n<se>" under the key. */
export function sasSignature(key: Buffer | string, sr: string, se: string): string {
  return createHmac("sha256", key).update(`${sr}\n${se}`).digest("base64");
}

/** Compares the token's (url-encoded) signature with the expected one in constant time. */
export function sasSignatureMatches(fields: SasFields, key: Buffer | string): boolean {
  let given: Buffer;
  try {
    given = Buffer.from(decodeURIComponent(fields.sig), "base64");
  } catch {
    return false;
  }
  const expected = Buffer.from(sasSignature(key, fields.sr, fields.se), "base64");
  return given.length === expected.length && timingSafeEqual(given, expected);
}

/** True when the expiry (epoch seconds) is a whole number still in the future. */
export function sasUnexpired(se: string, now: Date): boolean {
  const expiry = Number(se);
  return Number.isInteger(expiry) && expiry * 1000 > now.getTime();
}
