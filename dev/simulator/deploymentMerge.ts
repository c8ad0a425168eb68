// How IoT Hub decides what an IoT Edge device gets: among the base deployments whose target condition
// matches, the highest priority wins (ties: the most recently created); every matching layered deployment
// is added on top, merged in priority order so a higher priority layer overwrites a lower one. The result
// is the desired properties of each module twin ($edgeAgent, $edgeHub, and the modules' own twins).
import { evaluateTwinCondition, type TwinObject } from "../../lib/hub/twinQuery.js";
import type { StoredConfiguration } from "./configurationStore.js";
import { isJsonObject } from "./jsonMergePatch.js";

export interface DeploymentSelection {
  base: StoredConfiguration | undefined;
  /** In merge order: lowest priority first. */
  layered: StoredConfiguration[];
  /** Base deployments that match but lost to a higher priority (or newer) one. */
  outranked: StoredConfiguration[];
}

export function selectDeployments(
  configurations: Iterable<StoredConfiguration>,
  deviceTwin: TwinObject,
): DeploymentSelection {
  const bases: StoredConfiguration[] = [];
  const layered: StoredConfiguration[] = [];
  for (const configuration of configurations) {
    if (!configuration.condition || !evaluateTwinCondition(configuration.condition, deviceTwin)) continue;
    (configuration.layered ? layered : bases).push(configuration);
  }
  const byRank = (a: StoredConfiguration, b: StoredConfiguration) =>
    a.priority - b.priority || a.creationSequence - b.creationSequence;
  bases.sort(byRank).reverse();
  layered.sort(byRank);
  return { base: bases[0], layered, outranked: bases.slice(1) };
}

/** The twin's applied-configurations section: `{ "<id>": { status: "Applied" | "Targeted" } }`. */
export function configurationsSection(selection: DeploymentSelection): TwinObject {
  const section: TwinObject = {};
  for (const configuration of selection.outranked) section[configuration.id] = { status: "Targeted" };
  if (selection.base) section[selection.base.id] = { status: "Applied" };
  for (const configuration of selection.layered) section[configuration.id] = { status: "Applied" };
  return section;
}

function setPath(target: TwinObject, path: string[], value: unknown): void {
  let current = target;
  for (const segment of path.slice(0, -1)) {
    const next = current[segment];
    if (!isJsonObject(next)) current[segment] = {};
    current = current[segment] as TwinObject;
  }
  current[path[path.length - 1] as string] = structuredClone(value) as TwinObject;
}

/** Desired properties per module twin after merging the base and the layered deployments. */
export function mergeDeployments(selection: DeploymentSelection): Map<string, TwinObject> {
  const desired = new Map<string, TwinObject>();
  const ordered = selection.base ? [selection.base, ...selection.layered] : selection.layered;
  for (const configuration of ordered) {
    for (const [moduleId, content] of Object.entries(configuration.modulesContent)) {
      if (!isJsonObject(content)) continue;
      for (const [key, value] of Object.entries(content)) {
        if (key === "properties.desired") {
          desired.set(moduleId, isJsonObject(value) ? structuredClone(value) : {});
        } else {
          const moduleDesired = desired.get(moduleId) ?? {};
          desired.set(moduleId, moduleDesired);
          setPath(moduleDesired, key.slice("properties.desired.".length).split("."), value);
        }
      }
    }
  }
  return desired;
}
