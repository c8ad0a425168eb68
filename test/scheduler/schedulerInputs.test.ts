import { describe, expect, it } from "vitest";
import { parseRelease, parseWant } from "../../lib/scheduler/schedulerInputs.js";
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
});
