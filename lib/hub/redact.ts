// Secrets (shared access keys, SAS tokens, signatures, function keys, bearer tokens, passwords) must
// never reach a log line, an error or a status. Every message the hub client produces passes through
// redact(), as do the adapter's log lines and the app's logs and errors; the patterns catch the
// shapes secrets take in SDK errors, URLs, headers and JSON (also JSON inside a JSON string, as a
// log line holds it), and callers add the exact secret values they hold so that a key echoed in an
// unexpected shape is still caught.

export const REDACTED = "[REDACTED]";

// Each pattern keeps the name of what it hides, so a redacted message still says what was there.
// Order matters: whole tokens first, then their loose parts.
const SECRET_PATTERNS: ReadonlyArray<readonly [RegExp, string]> = [
  // A whole SAS token: "SharedAccessSignature sr=...&sig=...&se=...&skn=..." (header or JSON value).
  [/SharedAccessSignature\s+[^\s"',;}]+/gi, REDACTED],
  // Connection-string style key/value pairs.
  [/\b(SharedAccessKey|AccountKey|SharedAccessSignature|Password)(\s*=\s*)[^;"'\s]+/gi, `$1$2${REDACTED}`],
  // A signature or a function key in a URL or token, plain or URL-encoded ("sig=", "code%3D")
  // (inside an encoded URL it may follow "%3F"/"%26" and runs until "&" or "%26").
  [/(?<=^|[^a-z0-9]|%3f|%26)(sig|code)(=|%3d)(?:(?!%26)[^&\s"';\\])+/gi, `$1$2${REDACTED}`],
  // Authorization headers, as text or as JSON (also escaped inside a JSON string).
  [/\b(authorization(?:\\?")?\s*[:=]\s*(?:\\?")?)(?:[^"\\\r\n]|\\[^"])+/gi, `$1${REDACTED}`],
  // The Functions host's key header, as text or as JSON.
  [/\b(x-functions-key(?:\\?")?\s*[:=]\s*(?:\\?")?)[^"\\\s,;}]+/gi, `$1${REDACTED}`],
  // A bearer token wherever it appears.
  [/\b(Bearer\s+)[A-Za-z0-9\-._~+/]+=*/gi, `$1${REDACTED}`],
  // Device identity keys as the registry returns them, and passwords in JSON ("password",
  // "registryPassword", ...), also as escaped JSON inside a JSON string.
  [/("(?:primaryKey|secondaryKey|[A-Za-z0-9_-]*password)"\s*:\s*)"(?:[^"\\]|\\.)*"/gi, `$1"${REDACTED}"`],
  [
    /(\\"(?:primaryKey|secondaryKey|[A-Za-z0-9_-]*password)\\"\s*:\s*)\\"(?:[^"\\]|\\[^"])*\\"/gi,
    `$1\\"${REDACTED}\\"`,
  ],
];

/** Exact values that must not appear, with the encodings they travel in. */
function secretVariants(secret: string): string[] {
  if (secret.length < 4) return []; // too short to be a key; replacing would mangle text
  return [...new Set([secret, encodeURIComponent(secret), JSON.stringify(secret).slice(1, -1)])];
}

/** Removes secrets from text: known secret shapes and the given exact values. */
export function redact(text: string, secrets: readonly string[] = []): string {
  let result = text;
  for (const secret of secrets) {
    for (const variant of secretVariants(secret)) result = result.split(variant).join(REDACTED);
  }
  for (const [pattern, replacement] of SECRET_PATTERNS) result = result.replace(pattern, replacement);
  return result;
}
