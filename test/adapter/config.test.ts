import { mkdtemp, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { AdapterConfigError, readAdapterConfig } from "../../lib/adapter/config.js";

const complete = {
  NODE_NAME: "iot-edge-hub1",
  HUB_NAME: "hub1",
  PROVIDER_URL: "https://connector.example.net/api/",
  FUNCTION_KEY: "s3cr3t-function-key",
  POD_IP: "10.0.0.7",
  TLS_CERT_FILE: "/tls/tls.crt",
  TLS_KEY_FILE: "/tls/tls.key",
  KUBELET_CLIENT_CA_FILE: "/kubelet-client-ca/ca.crt",
};

function problemsOf(action: () => unknown): { field: string; reason: string }[] {
  try {
    action();
  } catch (error) {
    if (error instanceof AdapterConfigError) return error.problems;
    throw error;
  }
  throw new Error("expected an AdapterConfigError");
}

describe("readAdapterConfig", () => {
  it("reads the environment and applies the documented defaults", () => {
    const config = readAdapterConfig(complete);
    expect(config).toMatchObject({
      nodeName: "iot-edge-hub1",
      hubName: "hub1",
      providerUrl: "https://connector.example.net/api",
      nodeAddress: "10.0.0.7",
      kubeletPort: 10250,
      metricsPort: 8080,
      statusIntervalMs: 5000,
      leaseIntervalMs: 10000,
      capacity: { pods: "110", cpu: "20", memory: "100Gi" },
    });
    expect(config.kubeconfig).toBeUndefined(); // in-cluster
  });

  it("lets flags win over environment variables", () => {
    const config = readAdapterConfig(complete, ["--node-name=other-node", "--kubelet-port=11250"]);
    expect(config.nodeName).toBe("other-node");
    expect(config.kubeletPort).toBe(11250);
  });

  it("names every missing field at once, with its flag and variable", () => {
    const problems = problemsOf(() => readAdapterConfig({}));
    expect(problems.map((p) => p.field)).toEqual([
      "nodeName (--node-name / NODE_NAME)",
      "hubName (--hub-name / HUB_NAME)",
      "providerUrl (--provider-url / PROVIDER_URL)",
      "functionKey (--function-key / FUNCTION_KEY)",
      "nodeAddress (--node-address / POD_IP)",
      "tlsCertFile (--tls-cert-file / TLS_CERT_FILE)",
      "tlsKeyFile (--tls-key-file / TLS_KEY_FILE)",
      "kubeletClientCaFile (--client-ca-file / KUBELET_CLIENT_CA_FILE)",
    ]);
    expect(problems.every((p) => p.reason === "is required")).toBe(true);
  });

  it("explains malformed values without echoing them", () => {
    const error = (() => {
      try {
        readAdapterConfig({
          ...complete,
          NODE_NAME: "Not_A_Node",
          PROVIDER_URL: "ftp://x",
          KUBELET_PORT: "99999",
        });
      } catch (caught) {
        return caught as AdapterConfigError;
      }
      throw new Error("expected an error");
    })();
    expect(error.problems.map((p) => p.field)).toEqual([
      "nodeName (--node-name / NODE_NAME)",
      "providerUrl (--provider-url / PROVIDER_URL)",
      "kubeletPort (--kubelet-port / KUBELET_PORT)",
    ]);
    expect(error.problems[0]?.reason).toMatch(/DNS subdomain/);
    expect(error.message).not.toContain("s3cr3t");
  });

  it("reads the function key from a file (a mounted Secret), trimmed", async () => {
    const dir = await mkdtemp(path.join(tmpdir(), "adapter-config-"));
    const keyFile = path.join(dir, "key");
    await writeFile(keyFile, "key-from-file\n");
    const { FUNCTION_KEY: _unused, ...withoutKey } = complete;
    expect(readAdapterConfig({ ...withoutKey, FUNCTION_KEY_FILE: keyFile }).functionKey).toBe(
      "key-from-file",
    );
  });

  it("says when the function key file cannot be read, and nothing else about the key", () => {
    const { FUNCTION_KEY: _unused, ...withoutKey } = complete;
    const problems = problemsOf(() =>
      readAdapterConfig({ ...withoutKey, FUNCTION_KEY_FILE: "/nonexistent/key" }),
    );
    expect(problems).toEqual([
      {
        field: "functionKeyFile (--function-key-file / FUNCTION_KEY_FILE)",
        reason: "cannot be read (ENOENT)",
      },
    ]);
  });

  it("reads the node's fleet policy (the chart's nodes[].policy), and names a bad field in it", () => {
    const config = readAdapterConfig({
      ...complete,
      FLEET_POLICY: '{"namespaces": {"line-1": {"grants": ["hostNetwork"]}}}',
    });
    expect(config.fleetPolicy).toEqual({ namespaces: { "line-1": { grants: ["hostNetwork"] } } });
    expect(readAdapterConfig(complete).fleetPolicy).toBeUndefined();
    expect(
      problemsOf(() =>
        readAdapterConfig({ ...complete, FLEET_POLICY: "namespaces: { line-1: { grants: [root] } }" }),
      ),
    ).toEqual([
      {
        field: "fleetPolicy (--fleet-policy / FLEET_POLICY)",
        reason: expect.stringMatching(/^namespaces.line-1.grants\[0\]: Invalid option/),
      },
    ]);
  });

  it("refuses a plain http provider URL: the node's key would travel in clear", () => {
    const problems = problemsOf(() =>
      readAdapterConfig({ ...complete, PROVIDER_URL: "http://connector.example.net/api" }),
    );
    expect(problems).toEqual([
      {
        field: "providerUrl (--provider-url / PROVIDER_URL)",
        reason: expect.stringContaining("must be an https URL"),
      },
    ]);
    expect(problems[0]?.reason).toContain("--allow-http-provider-for-local-development");
  });

  it("takes a plain http provider URL with the flag named for local development, as a flag or a variable", () => {
    const local = { ...complete, PROVIDER_URL: "http://127.0.0.1:7071/api" };
    expect(readAdapterConfig(local, ["--allow-http-provider-for-local-development"])).toMatchObject({
      providerUrl: "http://127.0.0.1:7071/api",
      allowHttpProviderForLocalDevelopment: true,
    });
    expect(
      readAdapterConfig({ ...local, ALLOW_HTTP_PROVIDER_FOR_LOCAL_DEVELOPMENT: "true" }).providerUrl,
    ).toBe("http://127.0.0.1:7071/api");
    expect(readAdapterConfig(complete).allowHttpProviderForLocalDevelopment).toBe(false);
  });

  it("refuses an unknown flag", () => {
    expect(() => readAdapterConfig(complete, ["--node-nmae=x"])).toThrow(/node-nmae/);
  });

  it("taints the node as the original connector did unless told otherwise", () => {
    expect(readAdapterConfig(complete).taint).toEqual({
      key: "virtual-kubelet.io/provider",
      value: "iotedge",
      effect: "NoSchedule",
    });
    expect(readAdapterConfig({ ...complete, NODE_TAINT: "azure.com/iotedge:NoExecute" }).taint).toEqual({
      key: "azure.com/iotedge",
      effect: "NoExecute",
    });
  });

  it("refuses a taint that is not key[=value]:Effect, naming the setting", () => {
    for (const taint of ["iotedge", "k=v:Sometimes", "bad key=v:NoSchedule", "k=v=w:NoSchedule"]) {
      expect(problemsOf(() => readAdapterConfig({ ...complete, NODE_TAINT: taint }))).toEqual([
        {
          field: "taint (--taint / NODE_TAINT)",
          reason: "must be key[=value]:Effect (Effect NoSchedule, PreferNoSchedule or NoExecute)",
        },
      ]);
    }
  });
});
