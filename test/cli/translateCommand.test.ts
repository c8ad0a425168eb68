// The translate command run in process through main(), on files a user would pass it.
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import type { CliIo } from "../../lib/cli/cliIo.js";
import { main } from "../../lib/cli/main.js";

const directory = mkdtempSync(join(tmpdir(), "translate-cli-"));
afterAll(() => rmSync(directory, { recursive: true, force: true }));

function file(name: string, text: string): string {
  const path = join(directory, name);
  writeFileSync(path, text);
  return path;
}

async function run(argv: string[], stdin = ""): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = "";
  let stderr = "";
  const io: CliIo = {
    stdout: (text) => (stdout += text),
    stderr: (text) => (stderr += text),
    readStdin: () => Promise.resolve(stdin),
  };
  const code = await main(argv, io);
  return { code, stdout, stderr };
}

const deploymentWithConfig = `
apiVersion: apps/v1
kind: Deployment
metadata: { name: filter, namespace: plant-1 }
spec:
  selector: { matchLabels: { app: filter } }
  template:
    metadata:
      labels: { app: filter }
      annotations:
        iotedge.connector/target-condition: "tags.line='3'"
        iotedge.connector/twin-configmap.filter: filter-twin
    spec:
      imagePullSecrets: [{ name: acr }]
      containers:
        - name: filter
          image: contoso.azurecr.io/filter:1.4
          env:
            - { name: THRESHOLD, valueFrom: { configMapKeyRef: { name: filter-settings, key: threshold } } }
            - { name: API_KEY, valueFrom: { secretKeyRef: { name: filter-secrets, key: apiKey } } }
---
apiVersion: v1
kind: ConfigMap
metadata: { name: filter-settings, namespace: plant-1 }
data: { threshold: "30" }
---
apiVersion: v1
kind: ConfigMap
metadata: { name: filter-twin, namespace: plant-1 }
data: { desiredProperties: '{"window": 60}' }
---
apiVersion: v1
kind: Secret
metadata: { name: filter-secrets, namespace: plant-1 }
stringData: { apiKey: k-123 }
---
apiVersion: v1
kind: Secret
metadata: { name: acr, namespace: plant-1 }
type: kubernetes.io/dockerconfigjson
stringData:
  .dockerconfigjson: '{"auths": {"contoso.azurecr.io": {"username": "contoso", "password": "pw"}}}'
---
apiVersion: v1
kind: Service
metadata: { name: filter, namespace: plant-1 }
spec: { ports: [{ port: 80 }] }
`;

describe("iot-edge-connector translate", () => {
  it("prints the deployment of a Deployment, resolving the ConfigMaps and Secrets of the same file", async () => {
    const { code, stdout, stderr } = await run(["translate", file("filter.yaml", deploymentWithConfig)]);
    expect(code).toBe(0);
    const configuration = JSON.parse(stdout);
    expect(configuration.id).toMatch(/^plant-1-filter-[0-9a-f]{20}$/);
    expect(configuration.targetCondition).toBe("tags.line='3'");
    const content = configuration.content.modulesContent;
    expect(content.$edgeAgent["properties.desired.modules.filter"].env).toEqual({
      THRESHOLD: { value: "30" },
      API_KEY: { value: "k-123" },
    });
    expect(
      content.$edgeAgent["properties.desired.runtime.settings.registryCredentials.contoso-azurecr-io"],
    ).toEqual({
      username: "contoso",
      password: "pw",
      address: "contoso.azurecr.io",
    });
    expect(content.filter).toEqual({ "properties.desired": { window: 60 } });
    expect(stderr).toContain("note: Service plant-1/filter (document 6): not a pod or workload; skipped");
    expect(stderr).toContain(
      "warning: Deployment plant-1/filter (document 1): spec.containers[0].env[1].valueFrom.secretKeyRef:",
    );
  });

  it("exits 1 with each problem of a refused pod, naming the document and field", async () => {
    const refused = file(
      "refused.yaml",
      `
apiVersion: v1
kind: Pod
metadata: { name: migrate, namespace: default }
spec:
  initContainers: [{ name: init, image: busybox }]
  containers: [{ name: app, image: busybox }]
`,
    );
    const { code, stdout, stderr } = await run(["translate", refused]);
    expect(code).toBe(1);
    expect(stdout).toBe("");
    expect(stderr).toContain(
      "error: Pod default/migrate (document 1): spec.initContainers: IoT Edge has no init containers\n",
    );
    expect(stderr).toContain(
      "error: Pod default/migrate (document 1): metadata.annotations[iotedge.connector/target-condition]: is required",
    );
    expect(stderr).toContain("1 of 1 pods refused");
  });

  it("prints a JSON array when the file holds several pods", async () => {
    const two = file(
      "two.yaml",
      ["a", "b"]
        .map(
          (name) => `
apiVersion: v1
kind: Pod
metadata: { name: ${name}, annotations: { iotedge.connector/target-condition: "deviceId='${name}'" } }
spec: { containers: [{ name: app, image: busybox }] }`,
        )
        .join("\n---\n"),
    );
    const { code, stdout } = await run(["translate", two]);
    expect(code).toBe(0);
    const configurations = JSON.parse(stdout);
    expect(configurations.map((c: { targetCondition: string }) => c.targetCondition)).toEqual([
      "deviceId='a'",
      "deviceId='b'",
    ]);
  });

  it("notes documents that are not Kubernetes objects and translates the rest", async () => {
    const { code, stderr } = await run(
      ["translate", "-"],
      `just a string
---
kind: Pod
metadata: { name: a, annotations: { iotedge.connector/target-condition: "*" } }
spec: { containers: [{ name: app, image: busybox }] }`,
    );
    expect(code).toBe(0);
    expect(stderr).toBe("note: document 1: not a Kubernetes object; skipped\n");
  });

  it("reads standard input for -", async () => {
    const { code, stdout } = await run(
      ["translate", "-", "--hub", "contoso"],
      `kind: Pod
metadata: { name: a, annotations: { iotedge.connector/target-condition: "*" } }
spec: { containers: [{ name: app, image: busybox }] }`,
    );
    expect(code).toBe(0);
    expect(JSON.parse(stdout).targetCondition).toBe("*");
  });

  it("exits 1 naming the document on YAML that does not parse", async () => {
    const { code, stderr } = await run([
      "translate",
      file("broken.yaml", "kind: Pod\nmetadata: [unclosed\n"),
    ]);
    expect(code).toBe(1);
    expect(stderr).toMatch(/^error: .*broken\.yaml: document 1: /);
  });

  it("exits 2 with the usage on a missing file argument or an unknown option", async () => {
    expect((await run(["translate"])).code).toBe(2);
    const unknown = await run(["translate", "x.yaml", "--frobnicate"]);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain("usage: iot-edge-connector translate FILE.yaml");
  });

  it("exits 1 when the file does not exist", async () => {
    const { code, stderr } = await run(["translate", join(directory, "missing.yaml")]);
    expect(code).toBe(1);
    expect(stderr).toContain("missing.yaml");
  });

  describe("with --policy", () => {
    const privileged = () =>
      file(
        "privileged.yaml",
        `
apiVersion: v1
kind: Pod
metadata: { name: can-bus, namespace: line-1, annotations: { iotedge.connector/target-condition: "tags.line = '1'" } }
spec: { containers: [{ name: can, image: contoso.azurecr.io/can:1, securityContext: { privileged: true } }] }
`,
      );

    it("prints the refusal a pod's status would carry, with its reason", async () => {
      const { code, stderr } = await run(["translate", privileged(), "--policy", "default"]);
      expect(code).toBe(1);
      expect(stderr).toContain(
        "error: Pod line-1/can-bus (document 1): PolicyViolation: refused by the fleet policy of node virtual-node: spec.containers[0].securityContext.privileged: a privileged container has the whole device",
      );
    });

    it("decides under the named node's policy of a fleet policy file, narrowing the target", async () => {
      const policy = file(
        "fleet.yaml",
        `nodes:
  plant-a: { scope: "tags.site = 'a'", namespaces: { line-1: { grants: [privileged] } } }
  plant-b: { namespaces: {} }
`,
      );
      const allowed = await run(["translate", privileged(), "--policy", policy, "--node", "plant-a"]);
      expect(allowed.code, allowed.stderr).toBe(0);
      expect(JSON.parse(allowed.stdout).targetCondition).toBe("tags.site = 'a' AND tags.line = '1'");
      const refused = await run(["translate", privileged(), "--policy", policy, "--node", "plant-b"]);
      expect(refused.stderr).toContain("NamespaceNotAllowed: refused by the fleet policy of node plant-b");
      const unnamed = await run(["translate", privileged(), "--policy", policy]);
      expect(unnamed.code).toBe(1);
      expect(unnamed.stderr).toContain("lists 2 nodes (plant-a, plant-b); name one with --node");
    });

    it("names the field of a bad policy file, and wants --policy for --node", async () => {
      const bad = await run([
        "translate",
        privileged(),
        "--policy",
        file("bad.yaml", "namespaces: { line-1: { grant: [] } }\n"),
      ]);
      expect(bad.code).toBe(1);
      expect(bad.stderr).toMatch(/bad\.yaml: namespaces\.line-1: Unrecognized key: "grant"/);
      expect((await run(["translate", privileged(), "--node", "plant-a"])).code).toBe(2);
    });
  });
});
