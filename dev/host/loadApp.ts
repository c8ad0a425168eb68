// Loads a Functions app the way the Node worker does: the files matched by package.json `main`
// (a path or glob, e.g. `dist/functions/*.js`), each imported once, registering through
// `@azure/functions-core`. Also reads host.json for the settings the host honours.
import { globSync, readFileSync, existsSync } from "node:fs";
import path from "node:path";
import { pathToFileURL } from "node:url";
import { installFunctionsCore, type FunctionsCore, type Registration } from "./functionsCore.js";

export interface LoadedApp {
  appDir: string;
  entryFiles: string[];
  core: FunctionsCore;
  functions: Registration[];
  /** host.json `extensions.durableTask.hubName`, else "TestHubName" as the real extension defaults. */
  taskHubName: string;
  /** host.json `extensions.http.routePrefix`, default "api". */
  routePrefix: string;
  /** host.json `extensions.eventHubs`, as written (dev/host/eventHubOptions.ts reads it). */
  eventHubs: Record<string, unknown>;
}

export interface AppLocation {
  /** Folder holding the app's package.json and host.json. */
  appDir: string;
  /** Overrides package.json `main`: a path or glob relative to appDir. */
  entry?: string;
}

function readJson(file: string, what: string): Record<string, unknown> {
  try {
    return JSON.parse(readFileSync(file, "utf8")) as Record<string, unknown>;
  } catch (error) {
    throw new Error(`${what} ${file} cannot be read: ${(error as Error).message}`, { cause: error });
  }
}

function entryPattern(location: AppLocation): string {
  if (location.entry) return location.entry;
  const packageJson = readJson(path.join(location.appDir, "package.json"), "package.json");
  const main = packageJson.main;
  if (typeof main !== "string" || main.length === 0) {
    throw new Error(
      `package.json "main" in ${location.appDir} must name the app's entry files (a path or glob)`,
    );
  }
  return main;
}

function hostSettings(appDir: string): Pick<LoadedApp, "taskHubName" | "routePrefix" | "eventHubs"> {
  const file = path.join(appDir, "host.json");
  const hostJson = existsSync(file) ? readJson(file, "host.json") : {};
  const extensions = (hostJson.extensions ?? {}) as Record<string, Record<string, unknown> | undefined>;
  const hubName = extensions.durableTask?.hubName;
  const routePrefix = extensions.http?.routePrefix;
  return {
    taskHubName: typeof hubName === "string" && hubName.length > 0 ? hubName : "TestHubName",
    routePrefix: typeof routePrefix === "string" ? routePrefix.replace(/^\/+|\/+$/g, "") : "api",
    eventHubs: extensions.eventHubs ?? {},
  };
}

export async function loadApp(location: AppLocation): Promise<LoadedApp> {
  const appDir = path.resolve(location.appDir);
  const pattern = entryPattern({ ...location, appDir });
  const entryFiles = globSync(pattern, { cwd: appDir })
    .map((file) => path.resolve(appDir, file))
    .sort();
  if (entryFiles.length === 0) {
    throw new Error(`no entry file matches "${pattern}" in ${appDir} (did you build the app?)`);
  }
  const core = installFunctionsCore();
  for (const file of entryFiles) await import(pathToFileURL(file).href);
  const functions = [...core.registrations.values()];
  if (functions.length === 0) throw new Error(`the entry files in ${appDir} registered no function`);
  return { appDir, entryFiles, core, functions, ...hostSettings(appDir) };
}
