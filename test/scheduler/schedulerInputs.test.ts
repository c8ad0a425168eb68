import { describe, expect, it } from "vitest";
import type { AppSettings } from "../../lib/app/settings.js";
import { parseRelease, parseWant, schedulerSettings } from "../../lib/scheduler/schedulerInputs.js";
import { replicaWants } from "./replicaPods.js";

describe("scheduler operation inputs", () => {
  it("accepts a want as a pod orchestration sends it", () => {
    const want = replicaWants({ name: "web", image: "contoso/web:1.0" }, 1)[0]!;
    expect(parseWant(want)).toEqual(want);
  });

  it("refuses a want without a configuration id, naming the field", () => {
    const want = replicaWants({ name: "web", image: "contoso/web:1.0" }, 1)[0]!;
    const broken = { ...want, configuration: { ...want.configuration, id: "" } };
    expect(() => parseWant(broken)).toThrow(/hubScheduler operation "want": configuration\.id: /);
  });

  it("refuses a release without its pod, naming the field", () => {
    expect(() => parseRelease({ configurationId: "web-1" })).toThrow(/"release": pod: /);
  });

  it("derives the budget from the hub's SKU and units and refuses a hub the app does not know", () => {
    const settings = {
      hubs: [{ name: "hub-a", sku: "S1", units: 3 }],
      releaseGraceSeconds: 60,
    } as unknown as AppSettings;
    expect(schedulerSettings(settings, "hub-a")).toEqual({
      hub: "hub-a",
      budget: { perMinute: 60, burst: 60, deploymentLimit: 100 },
      graceSeconds: 60,
    });
    expect(() => schedulerSettings(settings, "hub-z")).toThrow('hub "hub-z" is not among the app\'s hubs');
  });
});
