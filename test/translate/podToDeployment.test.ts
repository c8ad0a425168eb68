import { describe, expect, it } from "vitest";
import { validateDeployment } from "../../lib/translate/deploymentSchemas.js";
import { PodTranslationError, type PodProblem } from "../../lib/translate/podErrors.js";
import { podReferences } from "../../lib/translate/podReferences.js";
import { podToDeployment } from "../../lib/translate/podToDeployment.js";
import type { ResolvedReferences } from "../../lib/translate/resolvedReferences.js";
import { podFromYaml } from "./podFixtures.js";

const target = `iotedge.connector/target-condition: "tags.site='plant-1'"`;

function problemsOf(run: () => unknown): PodProblem[] {
  try {
    run();
  } catch (error) {
    expect(error).toBeInstanceOf(PodTranslationError);
    return [...(error as PodTranslationError).problems];
  }
  throw new Error("the pod was not refused");
}

const b64 = (text: string) => Buffer.from(text).toString("base64");

describe("podToDeployment refusals", () => {
  it("refuses initContainers with the field path", () => {
    const pod = podFromYaml(`
metadata: { name: p, annotations: { ${target} } }
spec:
  initContainers: [{ name: init, image: busybox }]
  containers: [{ name: app, image: busybox }]
`);
    expect(problemsOf(() => podToDeployment(pod))).toEqual([
      { field: "spec.initContainers", reason: "IoT Edge has no init containers" },
    ]);
  });

  it("reports every problem of a pod at once, in the error message too", () => {
    const pod = podFromYaml(`
metadata: { name: p }
spec:
  initContainers: [{ name: init, image: busybox }]
  containers: [{ name: app, image: busybox, lifecycle: { preStop: { exec: { command: [x] } } } }]
`);
    let error: unknown;
    try {
      podToDeployment(pod);
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(PodTranslationError);
    const fields = (error as PodTranslationError).problems.map((problem) => problem.field);
    expect(fields).toEqual([
      "spec.initContainers",
      "metadata.annotations[iotedge.connector/target-condition]",
      "spec.containers[0].lifecycle",
    ]);
    expect((error as Error).message).toContain(
      "pod default/p cannot be deployed to IoT Edge: spec.initContainers:",
    );
  });

  it("never puts secret values in problems or warnings", () => {
    const secretValue = "s3cr3t-v4lue-never-shown";
    const resolved: ResolvedReferences = {
      configMaps: {},
      secrets: {
        creds: { data: { token: b64(secretValue) } },
        pull: {
          type: "kubernetes.io/dockerconfigjson",
          data: { ".dockerconfigjson": b64(`{"auths": ${secretValue}`) },
        },
      },
    };
    const pod = podFromYaml(`
metadata: { name: p, annotations: { ${target}, "iotedge.connector/twin.app": "{${secretValue}" } }
spec:
  imagePullSecrets: [{ name: pull }]
  containers:
    - name: app
      image: busybox
      env: [{ name: TOKEN, valueFrom: { secretKeyRef: { name: creds, key: token } } }]
`);
    let message = "";
    try {
      podToDeployment(pod, resolved);
    } catch (error) {
      message = JSON.stringify(error) + (error as Error).message;
    }
    expect(message).toContain("spec.imagePullSecrets[0]");
    expect(message).not.toContain(secretValue);
  });

  it("refuses $edgeAgent desired properties over 32 KB, naming the containers", () => {
    const env = Array.from(
      { length: 400 },
      (_, i) => `{ name: VARIABLE_${i}, value: "${"v".repeat(80)}" }`,
    ).join(", ");
    const pod = podFromYaml(`
metadata: { name: p, annotations: { ${target} } }
spec: { containers: [{ name: app, image: busybox, env: [${env}] }] }
`);
    const [problem, ...rest] = problemsOf(() => podToDeployment(pod));
    expect(rest).toEqual([]);
    expect(problem?.field).toBe("spec.containers");
    expect(problem?.reason).toMatch(
      /^come to \d+ bytes of \$edgeAgent desired properties; IoT Edge allows 32 KB per twin$/,
    );
  });

  it("reads the original connector's ConfigMaps only for pods that say isEdgeDeployment", () => {
    const resolved: ResolvedReferences = {
      configMaps: { app: { data: { status: "stopped" } } },
      secrets: {},
    };
    const yaml = (extra: string) => `
metadata: { name: p, annotations: { targetCondition: "tags.site='plant-1'" ${extra} } }
spec: { containers: [{ name: app, image: busybox }] }
`;
    const plain = podToDeployment(podFromYaml(yaml("")), resolved);
    expect(plain.kind).toBe("layered");
    expect(
      plain.configuration.content.modulesContent.$edgeAgent?.["properties.desired.modules.app"],
    ).toMatchObject({
      status: "running",
    });
    const legacy = podToDeployment(podFromYaml(yaml(`, isEdgeDeployment: "true"`)), resolved);
    expect(legacy.kind).toBe("base");
    const desired = legacy.configuration.content.modulesContent.$edgeAgent?.["properties.desired"] as {
      modules: Record<string, { status: string }>;
    };
    expect(desired.modules.app?.status).toBe("stopped");
  });

  it("takes registry credentials from an old-style kubernetes.io/dockercfg Secret", () => {
    const resolved: ResolvedReferences = {
      configMaps: {},
      secrets: {
        old: {
          type: "kubernetes.io/dockercfg",
          data: {
            ".dockercfg": b64(JSON.stringify({ "registry.example.com:5000": { auth: b64("bot:pw") } })),
          },
        },
      },
    };
    const pod = podFromYaml(`
metadata: { name: p, annotations: { ${target} } }
spec: { imagePullSecrets: [{ name: old }], containers: [{ name: app, image: registry.example.com:5000/app:1 }] }
`);
    const content = podToDeployment(pod, resolved).configuration.content.modulesContent;
    expect(
      content.$edgeAgent?.[
        "properties.desired.runtime.settings.registryCredentials.registry-example-com-5000"
      ],
    ).toEqual({
      username: "bot",
      password: "pw",
      address: "registry.example.com:5000",
    });
  });
});

describe("podToDeployment on hand-written YAML", () => {
  it("reads empty YAML values as absent, as Kubernetes does", () => {
    const pod = podFromYaml(`
metadata: { name: p, annotations: { ${target} } }
spec:
  securityContext:
  containers:
    - name: app
      image: busybox
      resources:
      env:
`);
    const module =
      podToDeployment(pod).configuration.content.modulesContent.$edgeAgent?.[
        "properties.desired.modules.app"
      ];
    expect(module).toEqual({
      type: "docker",
      status: "running",
      restartPolicy: "always",
      settings: { image: "busybox" },
    });
  });

  it("refuses values of the wrong type with the field path, all at once", () => {
    const pod = podFromYaml(`
metadata: { name: p, annotations: { ${target}, iotedge.connector/priority: 5 } }
spec:
  containers:
    - name: app
      image: busybox
      env: [{ name: THRESHOLD, value: 25 }]
      command: /bin/app
`);
    expect(problemsOf(() => podToDeployment(pod))).toEqual([
      {
        field: "metadata.annotations[iotedge.connector/priority]",
        reason: "must be a string (quote numbers and booleans in YAML)",
      },
      { field: "spec.containers[0].command", reason: "Invalid input: expected array, received string" },
      {
        field: "spec.containers[0].env[0].value",
        reason: "must be a string (quote numbers and booleans in YAML)",
      },
    ]);
  });
});

describe("deployment schema validation", () => {
  const valid = () =>
    podToDeployment(
      podFromYaml(`
metadata: { name: p, annotations: { ${target}, iotedge.connector/deployment-kind: base } }
spec: { containers: [{ name: app, image: busybox }] }
`),
    ).configuration;

  it("accepts what the translator produces", () => {
    expect(validateDeployment(valid())).toEqual([]);
  });

  it("rejects a base deployment whose module breaks the edgeAgent schema, naming the path", () => {
    const configuration = valid();
    const desired = configuration.content.modulesContent.$edgeAgent?.["properties.desired"] as {
      modules: Record<string, Record<string, unknown>>;
    };
    desired.modules.app!.restartPolicy = "sometimes";
    const problems = validateDeployment(configuration);
    expect(problems.map((problem) => problem.field)).toContain(
      "content.modulesContent.$edgeAgent.properties.desired.modules.app.restartPolicy",
    );
  });

  it("rejects a layered path key that a layered deployment may not set", () => {
    const configuration = valid();
    configuration.content.modulesContent = {
      $edgeAgent: { "properties.desired.systemModules.edgeHub": {} },
    };
    expect(validateDeployment(configuration)).toEqual([
      {
        field: "content.modulesContent.$edgeAgent[properties.desired.systemModules.edgeHub]",
        reason: "not a path a layered deployment may set",
      },
    ]);
  });

  it("rejects a layered module without a restart policy", () => {
    const configuration = valid();
    configuration.content.modulesContent = {
      $edgeAgent: {
        "properties.desired.modules.app": { type: "docker", status: "running", settings: { image: "x" } },
      },
    };
    const [problem] = validateDeployment(configuration);
    expect(problem?.field).toBe("content.modulesContent.$edgeAgent[properties.desired.modules.app]");
    expect(problem?.reason).toContain("restartPolicy");
  });
});

describe("pod references", () => {
  it("lists the ConfigMaps and Secrets the translator will look up, which of their keys, and which may be absent", () => {
    const pod = podFromYaml(`
metadata:
  name: p
  annotations:
    isEdgeDeployment: "true"
    iotedge.connector/routes-configmap: routes
    iotedge.connector/twin-configmap.app: app-twin
spec:
  imagePullSecrets: [{ name: pull }]
  containers:
    - name: app
      image: busybox
      env:
        - { name: A, valueFrom: { configMapKeyRef: { name: settings, key: a } } }
        - { name: B, valueFrom: { secretKeyRef: { name: creds, key: b, optional: true } } }
        - { name: C, valueFrom: { secretKeyRef: { name: creds, key: c } } }
      envFrom: [{ secretRef: { name: more } }]
`);
    expect(podReferences(pod)).toEqual([
      { kind: "ConfigMap", name: "routes", optional: false, keys: "all" },
      { kind: "ConfigMap", name: "app-twin", optional: false, keys: "all" },
      { kind: "ConfigMap", name: "edgehub", optional: true, keys: "all" },
      { kind: "ConfigMap", name: "edgeagent", optional: true, keys: "all" },
      { kind: "ConfigMap", name: "app", optional: true, keys: "all" },
      { kind: "ConfigMap", name: "settings", optional: false, keys: ["a"] },
      // one required key makes the Secret required
      { kind: "Secret", name: "creds", optional: false, keys: ["b", "c"] },
      { kind: "Secret", name: "more", optional: false, keys: "all" },
      { kind: "Secret", name: "pull", optional: false, keys: [".dockerconfigjson", ".dockercfg"] },
    ]);
  });
});
