// The Functions app's deployable (`npm run package:functions`), built afresh into a temp folder and
// unpacked outside the repository (so no package can resolve from the repository's node_modules):
// it registers every function from its own files and carries nothing it does not run.
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { unzipSync } from "fflate";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildFunctionsPackage, type FunctionsPackage } from "../../dev/package/functionsPackage.js";
import { appRegistrations, type AppRegistrations } from "../app/appRegistrations.js";
import { compareWithLockfile } from "./shippedPackages.js";

const budgetBytes = 60 * 1024 * 1024;

/** Every function the app registers for one hub (`hub1`), with its bindings' directions and types. */
const expectedFunctions: Record<string, string[]> = {
  hubScheduler: ["in entityTrigger"],
  hubSchedulerApplier: ["in orchestrationTrigger"],
  hubSchedulerRunAction: ["in activityTrigger", "in durableClient"],
  hubSchedulerNotify: ["in activityTrigger", "in durableClient"],
  hubSchedulerWakeApplier: ["in activityTrigger", "in durableClient"],
  hubSchedulerKeepAlive: ["in durableClient", "in timerTrigger"],
  podOrchestration: ["in orchestrationTrigger"],
  hubBaseDeployment: ["in orchestrationTrigger"],
  podTranslate: ["in activityTrigger"],
  podRecord: ["in activityTrigger"],
  podForget: ["in activityTrigger"],
  podConfigurationPhase: ["in activityTrigger", "in durableClient"],
  providerPutPod: ["in durableClient", "in httpTrigger", "out http"],
  providerDeletePod: ["in durableClient", "in httpTrigger", "out http"],
  providerPodStatus: ["in durableClient", "in httpTrigger", "out http"],
  providerNodePods: ["in durableClient", "in httpTrigger", "out http"],
  providerNodeReconcile: ["in durableClient", "in httpTrigger", "out http"],
  providerContainerLogs: ["in durableClient", "in httpTrigger", "out http"],
  providerNodeConditions: ["in durableClient", "in httpTrigger", "out http"],
  hubMetrics: ["in httpTrigger", "out http"],
  "twinEvents-hub1": ["in durableClient", "in eventHubTrigger"],
  statusReconcile: ["in durableClient", "in timerTrigger"],
  configurationSweep: ["in durableClient", "in timerTrigger"],
  purgeFinishedOrchestrations: ["in durableClient", "in timerTrigger"],
};

/** A fresh compile, a production install and the zip: minutes on a busy 2-core machine. */
const buildTimeoutMs = 600_000;

describe("the Functions package", () => {
  let workDir: string;
  let appDir: string;
  let built: FunctionsPackage;
  let files: string[];
  let registrations: AppRegistrations;

  beforeAll(async () => {
    workDir = mkdtempSync(path.join(tmpdir(), "functions-package-test-"));
    built = await buildFunctionsPackage(path.join(workDir, "functions.zip"));
    appDir = path.join(workDir, "app");
    const entries = unzipSync(readFileSync(built.file));
    files = Object.keys(entries).filter((name) => !name.endsWith("/"));
    for (const file of files) {
      mkdirSync(path.dirname(path.join(appDir, file)), { recursive: true });
      writeFileSync(path.join(appDir, file), entries[file]!);
    }
    registrations = await appRegistrations(appDir, "hub1");
  }, buildTimeoutMs);

  afterAll(() => {
    if (workDir) rmSync(workDir, { recursive: true, force: true });
  });

  it("stays under its size budget", () => {
    expect(built.bytes).toBeLessThan(budgetBytes);
    expect(files).toHaveLength(built.entries);
  });

  it("holds the compiled app, host.json, package.json, the lockfile and node_modules, no source and no tool", () => {
    const outside = files.filter(
      (file) =>
        !["host.json", "package.json", "package-lock.json"].includes(file) &&
        !/^dist\/(lib|functions)\//.test(file) &&
        !file.startsWith("node_modules/"),
    );
    expect(outside).toEqual([]);
    expect(files.filter((file) => file.startsWith("dist/") && file.endsWith(".ts"))).toEqual([]);
    expect(files).toContain("dist/lib/translate/schemas/SCHEMASTORE-LICENSE.txt");
  });

  it("ships every production package of the lockfile and none only devDependencies need", () => {
    expect(compareWithLockfile(files)).toEqual({ notProduction: [], missing: [] });
    for (const tool of ["node", "typescript", "esbuild", "vitest", "tsx", "azurite", "fflate"])
      expect(files.some((file) => file.startsWith(`node_modules/${tool}/`))).toBe(false);
  });

  it("loads every entry file package.json main names, from the package's own node_modules", () => {
    const compiled = files.filter((file) => /^dist\/functions\/[^/]+\.js$/.test(file)).sort();
    expect(compiled.length).toBeGreaterThan(0);
    expect(registrations.entryFiles.map((file) => path.relative(appDir, file))).toEqual(compiled);
  });

  it("registers every function with its trigger and bindings", () => {
    const registered = Object.fromEntries(
      registrations.functions.map((f) => [
        f.name,
        Object.values(f.bindings)
          .map((binding) => `${binding.direction} ${binding.type}`)
          .sort(),
      ]),
    );
    expect(registered).toEqual(expectedFunctions);
  });
});
