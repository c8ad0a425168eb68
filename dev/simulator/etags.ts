// Etags as the hub formats them and the If-Match check every conditional operation shares.

/** Twin and device etags are base64 of an 8-byte counter, e.g. "AAAAAAAAAAE=". */
export function counterEtag(counter: number): string {
  const bytes = Buffer.alloc(8);
  bytes.writeBigUInt64BE(BigInt(counter));
  return bytes.toString("base64");
}

/** True for `If-Match: *` (quoted or not): any existing entity matches. */
export function isWildcardIfMatch(ifMatch: string | undefined): boolean {
  return ifMatch !== undefined && ifMatch.replace(/^"|"$/g, "") === "*";
}

/** True when an If-Match header (quoted or not, weak or not, or `*`) allows an entity with this etag. */
export function ifMatchSatisfied(ifMatch: string | undefined, etag: string): boolean {
  if (ifMatch === undefined) return true;
  const value = ifMatch.replace(/^W\//, "").replace(/^"|"$/g, "");
  return value === "*" || value === etag;
}
