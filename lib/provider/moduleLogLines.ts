// Log lines as IoT Edge modules write them (`<6> 2026-11-25 14:03:07.123 +00:00 [INF] - text`),
// given the RFC 3339 prefix `kubectl logs --timestamps` expects from a kubelet. A line without a
// time of its own (the rest of a multi-line message) takes the time of the line before it.

const edgeLineTime = /^<\d>\s+(\d{4}-\d\d-\d\d)[ T](\d\d:\d\d:\d\d(?:\.\d+)?)\s*(Z|[+-]\d\d:?\d\d)?/;

/** The time an IoT Edge log line carries (epoch ms), if it carries one. */
export function edgeLogLineTime(line: string): number | undefined {
  const match = edgeLineTime.exec(line);
  if (!match) return undefined;
  const [, date, time, offset] = match;
  const parsed = Date.parse(`${date}T${time}${offset ?? "Z"}`);
  return Number.isNaN(parsed) ? undefined : parsed;
}

/** Each line prefixed with its time in RFC 3339 (UTC) and a space, as a kubelet answers `timestamps=true`. */
export function withTimestamps(lines: readonly string[]): string[] {
  let current = lines.map(edgeLogLineTime).find((time) => time !== undefined);
  if (current === undefined) return [...lines];
  return lines.map((line) => {
    current = edgeLogLineTime(line) ?? current;
    return `${new Date(current!).toISOString()} ${line}`;
  });
}
