// The host's implementation of `@azure/functions-core`: the module through which `@azure/functions`
// registers functions and its programming model. One instance per process, because the app's
// modules (and the library's own state) are loaded once per process.
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { registerHooks } from "node:module";
import { tmpdir } from "node:os";
import path from "node:path";
import { pathToFileURL } from "node:url";
import type {
  FunctionCallback,
  FunctionMetadata,
  HookCallback,
  ProgrammingModel,
  RpcLogCategory,
  RpcLogLevel,
} from "./functionsCoreTypes.js";

export interface Registration {
  metadata: FunctionMetadata;
  callback: FunctionCallback;
}

export type CoreLogSink = (level: RpcLogLevel, category: RpcLogCategory, message: string) => void;

class Disposable {
  static from(...items: { dispose: () => unknown }[]): Disposable {
    return new Disposable(() => items.forEach((item) => item.dispose()));
  }
  #onDispose: () => unknown;
  constructor(onDispose: () => unknown) {
    this.#onDispose = onDispose;
  }
  dispose(): unknown {
    return this.#onDispose();
  }
}

export class FunctionsCore {
  readonly version = "3.10.1";
  readonly hostVersion = "4.1040.0";
  readonly Disposable = Disposable;
  readonly registrations = new Map<string, Registration>();
  readonly hooks = new Map<string, Set<HookCallback>>();
  #programmingModel: ProgrammingModel | undefined;
  logSink: CoreLogSink = () => {};

  setProgrammingModel = (model: ProgrammingModel): void => {
    this.#programmingModel = model;
  };

  getProgrammingModel = (): ProgrammingModel => {
    if (!this.#programmingModel) {
      throw new Error("No programming model was set: the app did not load @azure/functions");
    }
    return this.#programmingModel;
  };

  registerFunction = (metadata: FunctionMetadata, callback: FunctionCallback): Disposable => {
    const key = metadata.name.toLowerCase();
    if (this.registrations.has(key)) {
      throw new Error(`A function named "${metadata.name}" is already registered`);
    }
    this.registrations.set(key, { metadata, callback });
    return new Disposable(() => this.registrations.delete(key));
  };

  registerHook = (hookName: string, callback: HookCallback): Disposable => {
    const set = this.hooks.get(hookName) ?? new Set<HookCallback>();
    this.hooks.set(hookName, set);
    set.add(callback);
    return new Disposable(() => set.delete(callback));
  };

  log = (level: RpcLogLevel, category: RpcLogCategory, message: string): void => {
    this.logSink(level, category, message);
  };

  async runHooks(hookName: string, context: Record<string, unknown>): Promise<void> {
    for (const hook of this.hooks.get(hookName) ?? []) await hook(context);
  }
}

const coreKey = Symbol.for("iot-edge-connector.local-host.functions-core");
type GlobalWithCore = typeof globalThis & { [coreKey]?: FunctionsCore };

/**
 * A real file standing for the module (a virtual source would do for plain Node, but loaders such
 * as tsx read CommonJS files from disk): it hands out the process's FunctionsCore.
 */
function writeModuleFile(): string {
  const dir = mkdtempSync(path.join(tmpdir(), "local-host-core-"));
  const file = path.join(dir, "azure-functions-core.cjs");
  writeFileSync(file, `module.exports = globalThis[Symbol.for(${JSON.stringify(coreKey.description)})];\n`);
  process.once("exit", () => rmSync(dir, { recursive: true, force: true }));
  return pathToFileURL(file).href;
}

/**
 * The process's functions-core, installed on first call: from then on `require` and `import` of
 * `@azure/functions-core` resolve to it (nothing is written into node_modules).
 */
export function installFunctionsCore(): FunctionsCore {
  const global = globalThis as GlobalWithCore;
  const existing = global[coreKey];
  if (existing) return existing;
  const core = new FunctionsCore();
  global[coreKey] = core;
  const moduleUrl = writeModuleFile();
  registerHooks({
    resolve(specifier, context, nextResolve) {
      if (specifier === "@azure/functions-core")
        return { url: moduleUrl, format: "commonjs", shortCircuit: true };
      return nextResolve(specifier, context);
    },
  });
  return core;
}
