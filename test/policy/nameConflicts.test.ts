// Module, route and registry credential names across workloads on the hub: which pairs of
// deployments conflict, and when their devices provably differ.
import { describe, expect, it } from "vitest";
import type { V1Pod } from "@kubernetes/client-node";
import {
  configurationNames,
  nameConflict,
  provablyDisjoint,
  workloadOf,
  type PlacedConfiguration,
} from "../../lib/policy/nameConflicts.js";
import { podToDeployment } from "../../lib/translate/podToDeployment.js";

function placed(options: {
  namespace?: string;
  name: string;
  container?: string;
  target?: string;
  routes?: Record<string, string>;
  kind?: "base" | "layered";
}): PlacedConfiguration {
  const translation = podToDeployment({
    metadata: {
      name: options.name,
      namespace: options.namespace ?? "default",
      annotations: {
        "iotedge.connector/target-condition": options.target ?? "tags.line = '1'",
        ...(options.routes && { "iotedge.connector/routes": JSON.stringify(options.routes) }),
        ...(options.kind && { "iotedge.connector/deployment-kind": options.kind }),
      },
    },
    spec: { containers: [{ name: options.container ?? options.name, image: "contoso.azurecr.io/x:1" }] },
  });
  return { names: configurationNames(translation.configuration), kind: translation.kind };
}

describe("devices two target conditions may share", () => {
  it.each([
    ["tags.owner = 'a'", "tags.owner = 'b'", true],
    ["tags.site = 'x' AND tags.owner = 'a'", "tags.owner IN ['b', 'c'] AND tags.line = '1'", true],
    ["deviceId = 'dev-1'", "deviceId = 'dev-2'", true],
    ["tags.owner = 'a'", "tags.owner = 'A'", false],
    ["tags.owner = 'a'", "tags.owner IN ['a', 'b']", false],
    ["tags.owner = 'a' OR tags.owner = 'c'", "tags.owner = 'b'", false],
    ["tags.owner = 'a'", "tags.Owner = 'b'", false],
    ["tags.owner = 'a'", "NOT (tags.owner = 'a')", false],
    ["*", "tags.owner = 'b'", false],
    ["tags.owner = 'a'", "tags.owner = ", false],
  ])("%s and %s: disjoint %s", (first, second, disjoint) => {
    expect(provablyDisjoint(first, second)).toBe(disjoint);
    expect(provablyDisjoint(second, first)).toBe(disjoint);
  });
});

describe("name conflicts", () => {
  const collector = placed({
    namespace: "shared",
    name: "collector",
    routes: { telemetry: "FROM /messages/modules/collector/* INTO $upstream" },
  });

  it("refuses a module another workload defines on devices both may target, naming the workload", () => {
    const conflict = nameConflict(placed({ namespace: "tenant-b", name: "probe", container: "Collector" }), [
      collector,
    ]);
    expect(conflict?.reason).toBe("ModuleNameConflict");
    expect(conflict?.message).toMatch(
      /^spec.containers\[name=Collector\]: workload shared\/collector \(deployment shared-collector-[0-9a-f]+\) already defines module "collector" on devices/,
    );
  });

  it("refuses a route another workload defines, and a registry credential it defines differently", () => {
    const route = nameConflict(
      placed({
        namespace: "tenant-b",
        name: "probe",
        routes: { telemetry: "FROM /messages/modules/probe/* INTO $upstream" },
      }),
      [collector],
    );
    expect(route?.reason).toBe("RouteNameConflict");

    const withCredential = (name: string, password: string): PlacedConfiguration => {
      const translation = podToDeployment({
        metadata: {
          name,
          namespace: "default",
          annotations: { "iotedge.connector/target-condition": "tags.line = '1'" },
        },
        spec: { containers: [{ name, image: "contoso.azurecr.io/x:1" }] },
      });
      translation.configuration.content.modulesContent.$edgeAgent![
        "properties.desired.runtime.settings.registryCredentials.contoso-azurecr-io"
      ] = { username: "pull", password, address: "contoso.azurecr.io" };
      const names = configurationNames(translation.configuration);
      // only a hash of the credential is kept
      expect(JSON.stringify(names)).not.toContain(password);
      return { names, kind: translation.kind };
    };
    expect(nameConflict(withCredential("a1", "same"), [withCredential("b1", "same")])).toBeUndefined();
    const credential = nameConflict(withCredential("a2", "mine"), [withCredential("b2", "theirs")]);
    expect(credential?.reason).toBe("RegistryCredentialConflict");
    expect(credential?.message).not.toMatch(/mine|theirs/);
  });

  it("lets through the same workload, devices that provably differ, and two base deployments", () => {
    expect(nameConflict(placed({ namespace: "shared", name: "collector" }), [collector])).toBeUndefined();
    expect(
      nameConflict(placed({ name: "probe", container: "collector", target: "tags.line = '2'" }), [collector]),
    ).toBeUndefined();
    const base = (name: string) => placed({ name, container: "runtime", kind: "base", target: "*" });
    expect(nameConflict(base("a"), [base("b")])).toBeUndefined();
    expect(nameConflict(placed({ name: "probe", container: "runtime" }), [base("b")])?.reason).toBe(
      "ModuleNameConflict",
    );
  });

  it("sees a Deployment's ReplicaSets as one workload, so a rolling update never conflicts with itself", () => {
    const replica = (hash: string, image: string): V1Pod => ({
      metadata: {
        name: `sensor-${hash}-x`,
        namespace: "line-1",
        labels: { app: "sensor", "pod-template-hash": hash },
        ownerReferences: [
          { apiVersion: "apps/v1", kind: "ReplicaSet", name: `sensor-${hash}`, uid: hash, controller: true },
        ],
        annotations: { "iotedge.connector/target-condition": "tags.line = '1'" },
      },
      spec: { containers: [{ name: "sensor", image }] },
    });
    const place = (pod: V1Pod, recorded = true): PlacedConfiguration => {
      const translation = podToDeployment(pod);
      return {
        names: configurationNames(translation.configuration),
        kind: translation.kind,
        ...(recorded && { workload: workloadOf(pod) }),
      };
    };
    const old = replica("6d8f7c9b5", "contoso.azurecr.io/sensor:1");
    const next = replica("7f9c4b8d6", "contoso.azurecr.io/sensor:2");
    expect(workloadOf(old)).toBe("line-1/sensor");
    expect(workloadOf(next)).toBe("line-1/sensor");
    expect(place(old).names.labelledOwner).toBe("line-1/sensor-6d8f7c9b5");
    expect(nameConflict(place(next), [place(old)])).toBeUndefined();
    // a configuration wanted before workloads were recorded: known by its ReplicaSet
    expect(nameConflict(place(next), [place(old, false)])).toBeUndefined();
    const other = { ...next, metadata: { ...next.metadata, namespace: "line-2" } };
    expect(nameConflict(place(other), [place(old)])?.reason).toBe("ModuleNameConflict");
  });
});
