// The app as `func azure functionapp publish` ships it: compiled to dist/ (npm run build, here into a
// temp copy so other tests' files are never half-written), loaded from package.json `main` by the
// local host's loader, and every function registered with the bindings it needs.
import { cpSync, mkdtempSync, rmSync, symlinkSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { compileApp } from "../../dev/package/compileApp.js";
import { hubSettingNames } from "../../lib/app/settings.js";
import { providerRoutes } from "../../lib/provider/providerContract.js";
import { appRegistrations, triggerOf, type Metadata } from "./appRegistrations.js";

const root = path.resolve(import.meta.dirname, "../..");

describe("the built app's registrations", { timeout: 180_000 }, () => {
  let appDir: string;
  let functions: Metadata[];
  let entryFiles: string[];

  const registered = (name: string) => {
    const found = functions.find((f) => f.name === name);
    if (!found)
      throw new Error(`${name} is not registered; registered: ${functions.map((f) => f.name).join(", ")}`);
    return found;
  };
  const find = (name: string) => Object.values(registered(name).bindings);
  const trigger = (name: string) => triggerOf(registered(name));

  beforeAll(async () => {
    appDir = mkdtempSync(path.join(tmpdir(), "connector-app-"));
    for (const file of ["package.json", "host.json"]) cpSync(path.join(root, file), path.join(appDir, file));
    symlinkSync(path.join(root, "node_modules"), path.join(appDir, "node_modules"), "dir");
    await compileApp(path.join(appDir, "dist"));
    ({ functions, entryFiles } = await appRegistrations(appDir, "hub1"));
  });

  afterAll(() => {
    if (appDir) rmSync(appDir, { recursive: true, force: true });
  });

  it("loads the entry files package.json main names (dist/functions/*.js)", () => {
    expect(entryFiles.length).toBeGreaterThan(0);
    for (const file of entryFiles)
      expect(path.relative(appDir, file)).toMatch(/^dist\/functions\/[^/]+\.js$/);
  });

  it.each([
    ["providerPutPod", providerRoutes.pod, "PUT"],
    ["providerDeletePod", providerRoutes.pod, "DELETE"],
    ["providerPodStatus", providerRoutes.podStatus, "GET"],
    ["providerNodePods", providerRoutes.nodePods, "GET"],
    ["providerNodeReconcile", providerRoutes.nodeReconcile, "POST"],
    ["providerContainerLogs", providerRoutes.containerLogs, "GET"],
    ["providerNodeConditions", providerRoutes.nodeConditions, "GET"],
  ])("registers %s on %s for %s with a function key and a durable client", (name, route, method) => {
    const http = trigger(name);
    expect(http).toMatchObject({ type: "httpTrigger", route, authLevel: "function" });
    expect((http?.methods as string[]).map((m) => m.toUpperCase())).toEqual([method]);
    expect(find(name).some((binding) => binding.type === "durableClient" && binding.direction === "in")).toBe(
      true,
    );
    expect(find(name).some((binding) => binding.type === "http" && binding.direction === "out")).toBe(true);
  });

  it("registers the hub metrics on metrics for GET with the host's master key only (admin)", () => {
    expect(trigger("hubMetrics")).toMatchObject({
      type: "httpTrigger",
      route: "metrics",
      authLevel: "admin",
    });
  });

  it("registers the pod and base deployment orchestrations", () => {
    expect(trigger("podOrchestration")?.type).toBe("orchestrationTrigger");
    expect(trigger("hubBaseDeployment")?.type).toBe("orchestrationTrigger");
  });

  it("registers the pod activities, the one reading the scheduler with a durable client", () => {
    for (const name of ["podTranslate", "podRecord", "podForget", "podConfigurationPhase"])
      expect(trigger(name)?.type).toBe("activityTrigger");
    expect(find("podConfigurationPhase").some((binding) => binding.type === "durableClient")).toBe(true);
  });

  it("registers the hub scheduler entity", () => {
    expect(trigger("hubScheduler")?.type).toBe("entityTrigger");
  });

  it("registers an eventHub trigger per hub with cardinality many and the hub's events connection setting", () => {
    const names = hubSettingNames("hub1");
    const eventHubs = functions
      .flatMap((f) => Object.values(f.bindings))
      .filter((b) => b.type === "eventHubTrigger");
    expect(eventHubs).toHaveLength(1);
    expect(eventHubs[0]).toMatchObject({ cardinality: "many", connection: names.eventsConnection });
  });

  it("registers the purge of finished orchestrations as a timer with a durable client, every minute by default", () => {
    expect(trigger("purgeFinishedOrchestrations")).toMatchObject({
      type: "timerTrigger",
      schedule: "0 * * * * *",
    });
    expect(find("purgeFinishedOrchestrations").some((binding) => binding.type === "durableClient")).toBe(
      true,
    );
  });

  it("registers the hub applier's runAction activity with a durable client (it reads a create's content from the scheduler)", () => {
    expect(find("hubSchedulerRunAction").some((binding) => binding.type === "durableClient")).toBe(true);
  });

  it("registers the reconcile timer", () => {
    const timers = functions
      .flatMap((f) => Object.values(f.bindings))
      .filter((b) => b.type === "timerTrigger");
    expect(timers.length).toBeGreaterThan(0);
    expect(timers.every((timer) => typeof timer.schedule === "string")).toBe(true);
  });
});
