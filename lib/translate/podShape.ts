// The types of the pod fields the translator reads, checked before it reads them: a pod from a
// YAML file or an API client may hold a number where Kubernetes has a string (an unquoted
// `value: 25`), and that must come back as a refusal naming the field, not as a TypeError.
// Objects stay open (`looseObject`): fields the translator does not know are judged by podFields.
import { z } from "zod";
import type { V1Pod, V1PodSpec } from "@kubernetes/client-node";
import type { PodProblem } from "./podErrors.js";

const text = z.string();
const texts = z.array(z.string());
const flag = z.boolean();
const whole = z.number().int();
const object = <T extends z.ZodRawShape>(shape: T, message?: string) => z.looseObject(shape, message);

const keyReference = object({ name: text.optional(), key: text, optional: flag.optional() });
const sourceReference = object({ name: text.optional(), optional: flag.optional() });
const profile = object({ type: text, localhostProfile: text.optional() });

const securityContext = object({
  runAsUser: whole.optional(),
  runAsGroup: whole.optional(),
  privileged: flag.optional(),
  readOnlyRootFilesystem: flag.optional(),
  allowPrivilegeEscalation: flag.optional(),
  capabilities: object({ add: texts.optional(), drop: texts.optional() }).optional(),
  seccompProfile: profile.optional(),
  appArmorProfile: profile.optional(),
  seLinuxOptions: object({
    user: text.optional(),
    role: text.optional(),
    type: text.optional(),
    level: text.optional(),
  }).optional(),
  procMount: text.optional(),
  supplementalGroups: z.array(whole).optional(),
  sysctls: z.array(object({ name: text, value: text })).optional(),
});

const container = object({
  name: text.min(1, "is required"),
  image: text.optional(),
  imagePullPolicy: text.optional(),
  command: texts.optional(),
  args: texts.optional(),
  workingDir: text.optional(),
  env: z
    .array(
      object({
        name: text,
        value: z.string("must be a string (quote numbers and booleans in YAML)").optional(),
        valueFrom: object({
          configMapKeyRef: keyReference.optional(),
          secretKeyRef: keyReference.optional(),
          fieldRef: object({ fieldPath: text }).optional(),
        }).optional(),
      }),
    )
    .optional(),
  envFrom: z
    .array(
      object({
        prefix: text.optional(),
        configMapRef: sourceReference.optional(),
        secretRef: sourceReference.optional(),
      }),
    )
    .optional(),
  ports: z
    .array(object({ hostPort: whole.optional(), hostIP: text.optional(), protocol: text.optional() }))
    .optional(),
  volumeMounts: z
    .array(
      object({
        name: text,
        mountPath: text,
        subPath: text.optional(),
        subPathExpr: text.optional(),
        readOnly: flag.optional(),
        mountPropagation: text.optional(),
      }),
    )
    .optional(),
  resources: object({ limits: z.record(text, z.union([text, z.number()])).optional() }).optional(),
  securityContext: securityContext.optional(),
  tty: flag.optional(),
  stdin: flag.optional(),
  stdinOnce: flag.optional(),
});

const podShape = object({
  metadata: object({
    name: text.optional(),
    namespace: text.optional(),
    labels: z.record(text, z.string("must be a string (quote numbers and booleans in YAML)")).optional(),
    annotations: z.record(text, z.string("must be a string (quote numbers and booleans in YAML)")).optional(),
    ownerReferences: z.array(object({ name: text, controller: flag.optional() })).optional(),
  }).optional(),
  spec: object(
    {
      containers: z.array(container, "is required: a list of containers"),
      volumes: z
        .array(
          object({
            name: text,
            hostPath: object({ path: text }).optional(),
            projected: object({ sources: z.array(z.looseObject({})).optional() }).optional(),
          }),
        )
        .optional(),
      imagePullSecrets: z.array(object({ name: text.optional() })).optional(),
      restartPolicy: text.optional(),
      hostNetwork: flag.optional(),
      hostPID: flag.optional(),
      hostIPC: flag.optional(),
      hostUsers: flag.optional(),
      hostname: text.optional(),
      hostAliases: z.array(object({ ip: text, hostnames: texts.optional() })).optional(),
      dnsPolicy: text.optional(),
      dnsConfig: object({
        nameservers: texts.optional(),
        searches: texts.optional(),
        options: z.array(object({ name: text, value: text.optional() })).optional(),
      }).optional(),
      securityContext: securityContext.optional(),
    },
    "is required",
  ),
});

/** `spec.containers[0].env[1].value` from zod's path. */
function fieldPath(path: readonly PropertyKey[]): string {
  let field = "";
  for (const key of path) {
    if (typeof key === "number") field += `[${key}]`;
    else if (typeof key === "string" && /^[A-Za-z_][\w]*$/.test(key)) field += field === "" ? key : `.${key}`;
    else field += `[${String(key)}]`;
  }
  return field === "" ? "pod" : field;
}

/** YAML's empty values (`resources:` with nothing under it) are null; Kubernetes reads them as absent. */
function withoutNulls(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(withoutNulls);
  if (typeof value !== "object" || value === null) return value;
  const copy: Record<string, unknown> = {};
  for (const [key, item] of Object.entries(value)) if (item !== null) copy[key] = withoutNulls(item);
  return copy;
}

function hasNull(value: unknown): boolean {
  if (value === null) return true;
  if (typeof value !== "object") return false;
  return Object.values(value).some(hasNull);
}

export type CheckedPod = V1Pod & { spec: V1PodSpec };

/** The pod with YAML nulls dropped, or every field whose type is wrong. */
export function checkPodShape(input: unknown): { pod: CheckedPod } | { problems: PodProblem[] } {
  const pod = hasNull(input) ? withoutNulls(input) : input;
  if (typeof pod !== "object" || pod === null || Array.isArray(pod)) {
    return { problems: [{ field: "pod", reason: "must be a Kubernetes Pod object" }] };
  }
  const result = podShape.safeParse(pod);
  if (result.success) return { pod: pod as CheckedPod };
  return {
    problems: result.error.issues.map((issue) => ({ field: fieldPath(issue.path), reason: issue.message })),
  };
}
