// JSON merge patch (RFC 7396) as twins use it: a patch's null removes a property, objects merge
// recursively, anything else replaces. `diffAsMergePatch` computes the patch that turns one object into
// another, which is what a device reports and what a twin change event carries.
import { isDeepStrictEqual } from "node:util";
import type { TwinObject } from "../../lib/hub/twinQuery.js";

export function isJsonObject(value: unknown): value is TwinObject {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** Applies `patch` to `target` in place; returns true when anything changed. */
export function applyMergePatch(target: TwinObject, patch: TwinObject): boolean {
  let changed = false;
  for (const [key, value] of Object.entries(patch)) {
    if (value === undefined) continue;
    if (value === null) {
      if (key in target) {
        delete target[key];
        changed = true;
      }
    } else if (isJsonObject(value)) {
      let child = target[key];
      if (!isJsonObject(child)) {
        child = {};
        target[key] = child;
        changed = true;
      }
      if (applyMergePatch(child, value)) changed = true;
    } else if (!isDeepStrictEqual(target[key], value)) {
      target[key] = structuredClone(value);
      changed = true;
    }
  }
  return changed;
}

/** The merge patch that turns `from` into `to` (empty when they are equal). */
export function diffAsMergePatch(from: TwinObject, to: TwinObject): TwinObject {
  const patch: TwinObject = {};
  for (const key of Object.keys(from)) {
    if (to[key] === undefined && from[key] !== undefined) patch[key] = null;
  }
  for (const [key, value] of Object.entries(to)) {
    if (value === undefined) continue;
    const before = from[key];
    if (isJsonObject(value) && isJsonObject(before)) {
      const inner = diffAsMergePatch(before, value);
      if (Object.keys(inner).length > 0) patch[key] = inner;
    } else if (!isDeepStrictEqual(before, value)) {
      patch[key] = structuredClone(value);
    }
  }
  return patch;
}
