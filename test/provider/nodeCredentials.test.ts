import { describe, expect, it } from "vitest";
import { NodeCredentials, nodeKeySha256 } from "../../lib/provider/nodeCredentials.js";
import { callerOf } from "../../lib/provider/providerCaller.js";
import { ProviderHttpError } from "../../lib/provider/providerErrors.js";

const registrations = [
  { cluster: "plant-a", hub: "hub1", node: "iot-edge-hub1", keySha256: nodeKeySha256("key-a") },
  // the same node name in another cluster is another node
  { cluster: "plant-b", hub: "hub1", node: "iot-edge-hub1", keySha256: nodeKeySha256("key-b") },
  // a second key of the same node, while it is rotated
  { cluster: "plant-a", hub: "hub1", node: "iot-edge-hub1", keySha256: nodeKeySha256("key-a-next") },
];
const credentials = new NodeCredentials(registrations);
const noHeaders = { get: () => null };

describe("node credentials", () => {
  it("finds the node, hub and cluster a key belongs to", () => {
    expect(credentials.identify("key-b")).toEqual({ cluster: "plant-b", hub: "hub1", node: "iot-edge-hub1" });
    expect(credentials.identify("key-a-next")).toEqual({
      cluster: "plant-a",
      hub: "hub1",
      node: "iot-edge-hub1",
    });
  });

  it("knows no node for another key, an empty one or none", () => {
    for (const key of ["key-c", "", undefined, "key-a ", nodeKeySha256("key-a")])
      expect(credentials.identify(key)).toBeUndefined();
  });

  it("takes the key from x-functions-key, else from code=, as the Functions host does", () => {
    const header = { get: (name: string) => (name === "x-functions-key" ? "key-a" : null) };
    expect(callerOf(credentials, header, new URLSearchParams()).cluster).toBe("plant-a");
    expect(callerOf(credentials, noHeaders, new URLSearchParams("code=key-b")).cluster).toBe("plant-b");
  });

  it("refuses a key of no node with 403, saying so when no node is registered at all", () => {
    const refusal = (registry: NodeCredentials) => {
      try {
        callerOf(registry, noHeaders, new URLSearchParams("code=master"));
      } catch (error) {
        return error as ProviderHttpError;
      }
      throw new Error("expected a refusal");
    };
    expect(refusal(credentials)).toMatchObject({ status: 403, body: { code: "NotANodeCredential" } });
    expect(refusal(new NodeCredentials([])).message).toContain("CONNECTOR_NODES registers none");
  });
});
