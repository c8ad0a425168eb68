import fc from "fast-check";
import stringify from "safe-stable-stringify";
import { describe, expect, it } from "vitest";
import {
  configurationId,
  configurationIdPattern,
  type ConfigurationIdentity,
} from "../../lib/translate/configurationId.js";
import { podToDeployment } from "../../lib/translate/podToDeployment.js";
import { sensorReplica } from "./podFixtures.js";

const identity = (overrides: Partial<ConfigurationIdentity> = {}): ConfigurationIdentity => ({
  namespace: "plant-1",
  workload: "tempsensor-6d8f7c9b5",
  content: { modulesContent: { $edgeAgent: { "properties.desired.modules.tempsensor": { image: "a" } } } },
  targetCondition: "tags.building='b43'",
  priority: 10,
  kind: "layered",
  ...overrides,
});

const anyIdentity = fc.record({
  namespace: fc.string({ maxLength: 70 }),
  workload: fc.string({ maxLength: 300 }),
  content: fc.jsonValue(),
  targetCondition: fc.string(),
  priority: fc.nat(),
  kind: fc.constantFrom("layered" as const, "base" as const),
  hubName: fc.option(fc.string(), { nil: undefined }),
});

describe("configuration ids", () => {
  it("are always valid IoT Hub configuration ids", () => {
    fc.assert(
      fc.property(anyIdentity, (id) => {
        expect(configurationId(id)).toMatch(configurationIdPattern);
      }),
      { numRuns: 500 },
    );
  });

  it("are stable: the same identity always gives the same id", () => {
    fc.assert(
      fc.property(anyIdentity, (id) => {
        expect(configurationId(structuredClone(id))).toBe(configurationId(id));
      }),
    );
  });

  it("differ for distinct identities", () => {
    fc.assert(
      fc.property(anyIdentity, anyIdentity, (a, b) => {
        fc.pre(
          stringify({ ...a, hubName: a.hubName ?? null }) !== stringify({ ...b, hubName: b.hubName ?? null }),
        );
        expect(configurationId(a)).not.toBe(configurationId(b));
      }),
      { numRuns: 500 },
    );
  });

  it("do not depend on the order of keys in the content", () => {
    const a = identity({ content: { x: 1, y: { p: 1, q: 2 } } });
    const b = identity({ content: { y: { q: 2, p: 1 }, x: 1 } });
    expect(configurationId(a)).toBe(configurationId(b));
  });

  it("keep namespaces apart even when sanitising makes the names alike", () => {
    const a = configurationId(identity({ namespace: "a-b", workload: "c" }));
    const b = configurationId(identity({ namespace: "a", workload: "b-c" }));
    expect(a.startsWith("a-b-c-")).toBe(true);
    expect(b.startsWith("a-b-c-")).toBe(true);
    expect(a).not.toBe(b);
  });

  it("change with the target condition, priority, kind and hub", () => {
    const base = configurationId(identity());
    expect(configurationId(identity({ targetCondition: "tags.building='b44'" }))).not.toBe(base);
    expect(configurationId(identity({ priority: 11 }))).not.toBe(base);
    expect(configurationId(identity({ kind: "base" }))).not.toBe(base);
    expect(configurationId(identity({ hubName: "contoso-hub" }))).not.toBe(base);
  });

  it("stay within 128 characters for the longest Kubernetes names", () => {
    const id = configurationId(identity({ namespace: "n".repeat(63), workload: "w".repeat(253) }));
    expect(id.length).toBeLessThanOrEqual(128);
    expect(id).toMatch(configurationIdPattern);
  });
});

describe("content addressing of translated pods", () => {
  it("gives the 20 replicas of one Deployment the same configuration id", () => {
    const ids = new Set(
      Array.from(
        { length: 20 },
        (_, i) => podToDeployment(sensorReplica(`tempsensor-6d8f7c9b5-r${i}`)).configuration.id,
      ),
    );
    expect(ids.size).toBe(1);
  });

  it("gives a new id when the image changes", () => {
    const before = podToDeployment(sensorReplica("tempsensor-6d8f7c9b5-a")).configuration.id;
    const after = podToDeployment(
      sensorReplica(
        "tempsensor-6d8f7c9b5-a",
        "mcr.microsoft.com/azureiotedge-simulated-temperature-sensor:1.5.1",
      ),
    ).configuration.id;
    expect(after).not.toBe(before);
  });

  it("includes the hub name when one is given", () => {
    const pod = sensorReplica("tempsensor-6d8f7c9b5-a");
    expect(podToDeployment(pod, undefined, { hubName: "hub-a" }).configuration.id).not.toBe(
      podToDeployment(pod, undefined, { hubName: "hub-b" }).configuration.id,
    );
  });
});
