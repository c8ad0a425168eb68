// Runs twin queries over the registry: `FROM devices` reads device twins, `FROM devices.modules` module
// twins, in a stable order (device id, then module id) so continuation tokens can resume after the last
// row returned even while twins change between pages. Parsed queries are cached by text.
import {
  evaluateTwinCondition,
  parseTwinQuery,
  projectTwin,
  type Condition,
  type TwinObject,
  type TwinQuery,
} from "../../lib/hub/twinQuery.js";
import type { DeviceRegistry } from "./deviceRegistry.js";

export interface QueryPage {
  items: TwinObject[];
  /** Opaque token for the next page; undefined on the last page. */
  continuationToken: string | undefined;
}

interface Cursor {
  /** Position after which to resume: "<deviceId>\u0000<moduleId>". */
  after: string;
  query: string;
}

const parsedQueries = new Map<string, TwinQuery>();
const MAX_CACHED_QUERIES = 1_000;

/** Parses a query once and keeps it (queries repeat: metrics, paging). Throws TwinQueryError. */
export function cachedQuery(text: string): TwinQuery {
  let query = parsedQueries.get(text);
  if (!query) {
    query = parseTwinQuery(text);
    if (parsedQueries.size >= MAX_CACHED_QUERIES) parsedQueries.clear();
    parsedQueries.set(text, query);
  }
  return query;
}

/**
 * The module id a devices.modules query is pinned to by a top-level `moduleId = '...'` conjunct (as every
 * deployment metric is: `moduleId = '$edgeAgent' AND ...`), so only that module twin per device is read.
 */
function pinnedModuleId(where: Condition | undefined): string | undefined {
  if (!where) return undefined;
  if (where.kind === "and") return pinnedModuleId(where.left) ?? pinnedModuleId(where.right);
  if (where.kind !== "compare" || where.operator !== "=") return undefined;
  const [path, literal] = where.left.kind === "path" ? [where.left, where.right] : [where.right, where.left];
  const isModuleId = path.kind === "path" && path.segments.length === 1 && path.segments[0] === "moduleId";
  return isModuleId && literal.kind === "literal" && typeof literal.value === "string"
    ? literal.value
    : undefined;
}

/** Every twin the query's FROM names, with its sort key, in sort order unless told otherwise. */
function* twinsOf(
  registry: DeviceRegistry,
  query: TwinQuery,
  sorted = true,
): Generator<[string, TwinObject]> {
  const pinned = query.from === "devices.modules" ? pinnedModuleId(query.where) : undefined;
  const devices = sorted
    ? [...registry.all()].sort((a, b) => (a.deviceId < b.deviceId ? -1 : a.deviceId > b.deviceId ? 1 : 0))
    : registry.all();
  for (const device of devices) {
    if (query.from === "devices") {
      yield [device.deviceId, registry.deviceTwin(device)];
      continue;
    }
    const pinnedModule = pinned === undefined ? undefined : device.modules.get(pinned);
    const modules =
      pinned !== undefined
        ? pinnedModule
          ? [pinnedModule]
          : []
        : sorted
          ? [...device.modules.values()].sort((a, b) => (a.moduleId < b.moduleId ? -1 : 1))
          : device.modules.values();
    for (const module of modules) {
      yield [`${device.deviceId}\u0000${module.moduleId}`, registry.moduleTwin(device, module)];
    }
  }
}

/** Counts matching twins (metrics use this; no projection, no paging). */
export function countMatches(registry: DeviceRegistry, query: TwinQuery): number {
  let count = 0;
  for (const [, twin] of twinsOf(registry, query, false)) {
    if (!query.where || evaluateTwinCondition(query.where, twin)) count += 1;
  }
  return count;
}

export function encodeCursor(cursor: Cursor): string {
  return Buffer.from(JSON.stringify(cursor)).toString("base64url");
}

/** Decodes a continuation token; undefined when it is not one of ours or belongs to another query. */
export function decodeCursor(token: string, queryText: string): Cursor | undefined {
  try {
    const cursor = JSON.parse(Buffer.from(token, "base64url").toString("utf8")) as Partial<Cursor>;
    if (typeof cursor.after !== "string" || cursor.query !== queryText) return undefined;
    return { after: cursor.after, query: cursor.query };
  } catch {
    return undefined;
  }
}

/** One page of results after the cursor position. */
export function runQueryPage(
  registry: DeviceRegistry,
  queryText: string,
  pageSize: number,
  after: string | undefined,
): QueryPage {
  const query = cachedQuery(queryText);
  const items: TwinObject[] = [];
  let lastKey: string | undefined;
  for (const [key, twin] of twinsOf(registry, query)) {
    if (after !== undefined && key <= after) continue;
    if (query.where && !evaluateTwinCondition(query.where, twin)) continue;
    if (items.length === pageSize) {
      return { items, continuationToken: encodeCursor({ after: lastKey as string, query: queryText }) };
    }
    items.push(projectTwin(query, twin));
    lastKey = key;
  }
  return { items, continuationToken: undefined };
}
