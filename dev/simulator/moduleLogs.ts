// Log lines of simulated modules, in the format IoT Edge modules write (`<6> 2026-11-25 14:03:07.123 +00:00
// [INF] - text`), and the GetModuleLogs filters (tail, since, until, loglevel, regex). A module keeps a short
// journal of its lifecycle lines; while it runs it also "writes" a line every few seconds, synthesised on
// demand from its start time so ten thousand devices cost no memory for them.

export type LogLevel = 0 | 1 | 2 | 3 | 4 | 5 | 6 | 7;
export interface LogLine {
  time: number;
  level: LogLevel;
  text: string;
}

export interface LogFilter {
  tail?: number;
  /** Epoch ms: only lines at or after. */
  since?: number;
  /** Epoch ms: only lines at or before. */
  until?: number;
  /** Syslog severity: only lines at this level. */
  loglevel?: number;
  regex?: RegExp;
}

const LEVEL_TAGS: Record<number, string> = { 3: "ERR", 4: "WRN", 6: "INF", 7: "DBG" };
const RUNNING_LINE_INTERVAL_MS = 5_000;
const MAX_SYNTHESISED_LINES = 2_000;

function pad(value: number, width = 2): string {
  return String(value).padStart(width, "0");
}

export function formatLogLine(line: LogLine): string {
  const d = new Date(line.time);
  const stamp =
    `${d.getUTCFullYear()}-${pad(d.getUTCMonth() + 1)}-${pad(d.getUTCDate())} ` +
    `${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}:${pad(d.getUTCSeconds())}.${pad(d.getUTCMilliseconds(), 3)}`;
  return `<${line.level}> ${stamp} +00:00 [${LEVEL_TAGS[line.level] ?? "INF"}] - ${line.text}`;
}

/** Lines a running module writes between `startedAt` and `endAt`: a message counter every few seconds. */
function runningLines(moduleName: string, startedAt: number, endAt: number, notBefore: number): LogLine[] {
  const lines: LogLine[] = [];
  const first = Math.max(1, Math.ceil((notBefore - startedAt) / RUNNING_LINE_INTERVAL_MS));
  const last = Math.floor((endAt - startedAt) / RUNNING_LINE_INTERVAL_MS);
  for (let n = Math.max(first, last - MAX_SYNTHESISED_LINES + 1); n <= last; n += 1) {
    const temperature = (21 + Math.sin(n / 7) * 3).toFixed(2);
    lines.push({
      time: startedAt + n * RUNNING_LINE_INTERVAL_MS,
      level: 6,
      text: `${moduleName}: sent message ${n}, {"machine":{"temperature":${temperature}},"timeCreated":"${new Date(startedAt + n * RUNNING_LINE_INTERVAL_MS).toISOString()}"}`,
    });
  }
  return lines;
}

/** A module's journal plus its running lines, filtered the way edgeAgent's GetModuleLogs filters. */
export function moduleLogLines(
  moduleName: string,
  journal: readonly LogLine[],
  running: { since: number; until: number } | undefined,
  filter: LogFilter,
): string[] {
  const lowerBound = filter.since ?? 0;
  const lines = [...journal];
  if (running) lines.push(...runningLines(moduleName, running.since, running.until, lowerBound));
  lines.sort((a, b) => a.time - b.time);
  const selected = lines.filter(
    (line) =>
      line.time >= lowerBound &&
      (filter.until === undefined || line.time <= filter.until) &&
      (filter.loglevel === undefined || line.level === filter.loglevel),
  );
  let formatted = selected.map(formatLogLine);
  if (filter.regex) {
    const regex = filter.regex;
    formatted = formatted.filter((text) => regex.test(text));
  }
  if (filter.tail !== undefined) formatted = formatted.slice(Math.max(0, formatted.length - filter.tail));
  return formatted;
}

/**
 * Parses GetModuleLogs' `since` / `until`: a duration back from now (`90s`, `10m`, `2h`, `1d`), Unix seconds,
 * or an RFC 3339 time. Returns epoch ms, or throws naming the field.
 */
export function parseLogTime(field: string, value: unknown, now: number): number {
  if (typeof value === "number" && Number.isFinite(value)) return value * 1000;
  if (typeof value !== "string" || value.trim() === "") {
    throw new Error(`${field} must be a duration like "10m", Unix seconds or an RFC 3339 time`);
  }
  const duration = /^(\d+(?:\.\d+)?)\s*(s|m|h|d)$/.exec(value.trim());
  if (duration) {
    const unitMs = { s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 }[duration[2] as "s" | "m" | "h" | "d"];
    return now - Number(duration[1]) * unitMs;
  }
  if (/^\d+$/.test(value.trim())) return Number(value) * 1000;
  const parsed = Date.parse(value);
  if (Number.isNaN(parsed)) {
    throw new Error(`${field} "${value}" is not a duration like "10m", Unix seconds or an RFC 3339 time`);
  }
  return parsed;
}
