// What the connector does with each field of a pod spec and of a container. The docs'
// reference table lists the same fields; a test keeps the two in step. A field missing from
// these tables is refused: the connector never drops what it does not understand.
import type { Findings } from "./podErrors.js";

export type FieldPolicy =
  /** translated into the deployment (the translator reads it) */
  | { readonly kind: "mapped" }
  /** cluster-side only (scheduling, defaults every pod carries): ignored without a warning */
  | { readonly kind: "quiet"; readonly reason: string }
  /** means nothing on an IoT Edge device: ignored with a warning */
  | { readonly kind: "ignored"; readonly reason: string }
  /** IoT Edge cannot honour it: the pod is refused */
  | { readonly kind: "refused"; readonly reason: string };

const mapped: FieldPolicy = { kind: "mapped" };
const quiet = (reason: string): FieldPolicy => ({ kind: "quiet", reason });
const ignored = (reason: string): FieldPolicy => ({ kind: "ignored", reason });
const refused = (reason: string): FieldPolicy => ({ kind: "refused", reason });

const scheduling = "scheduling onto the connector's virtual node happens in the cluster";
const probes = "IoT Edge has no probes; edgeAgent restarts a module by its restart policy";

export const podSpecFields: Readonly<Record<string, FieldPolicy>> = {
  containers: mapped,
  dnsConfig: mapped,
  dnsPolicy: mapped,
  hostAliases: mapped,
  hostIPC: mapped,
  hostNetwork: mapped,
  hostPID: mapped,
  hostname: mapped,
  imagePullSecrets: mapped,
  restartPolicy: mapped,
  securityContext: mapped,
  volumes: mapped,
  hostUsers: mapped,
  affinity: quiet(scheduling),
  nodeName: quiet(scheduling),
  nodeSelector: quiet(scheduling),
  tolerations: quiet(scheduling),
  topologySpreadConstraints: quiet(scheduling),
  schedulerName: quiet(scheduling),
  schedulingGates: quiet(scheduling),
  priority: quiet(scheduling),
  priorityClassName: quiet(scheduling),
  preemptionPolicy: quiet(scheduling),
  overhead: quiet(scheduling),
  os: quiet(scheduling),
  serviceAccount: quiet("devices have no Kubernetes API to call"),
  serviceAccountName: quiet("devices have no Kubernetes API to call"),
  automountServiceAccountToken: quiet("devices have no Kubernetes API to call"),
  enableServiceLinks: quiet("Kubernetes service variables exist only in the cluster"),
  terminationGracePeriodSeconds: quiet("edgeAgent stops modules with its own timeout"),
  readinessGates: ignored("IoT Edge has no readiness gates"),
  subdomain: ignored("there is no cluster DNS on the device"),
  setHostnameAsFQDN: ignored("there is no cluster DNS on the device"),
  initContainers: refused("IoT Edge has no init containers"),
  ephemeralContainers: refused("IoT Edge has no ephemeral containers"),
  activeDeadlineSeconds: refused("IoT Edge modules have no deadline"),
  shareProcessNamespace: refused(
    "IoT Edge modules are separate containers and cannot share a process namespace",
  ),
  runtimeClassName: refused("the container runtime of a device is set by its IoT Edge installation"),
  resourceClaims: refused("IoT Edge has no dynamic resource allocation"),
  resources: refused("IoT Edge has no pod-level resources; set limits on each container"),
};

export const containerFields: Readonly<Record<string, FieldPolicy>> = {
  name: mapped,
  image: mapped,
  imagePullPolicy: mapped,
  command: mapped,
  args: mapped,
  workingDir: mapped,
  env: mapped,
  envFrom: mapped,
  ports: mapped,
  volumeMounts: mapped,
  resources: mapped,
  securityContext: mapped,
  tty: mapped,
  stdin: mapped,
  stdinOnce: mapped,
  terminationMessagePath: quiet("IoT Edge reports exit codes, not termination messages"),
  terminationMessagePolicy: quiet("IoT Edge reports exit codes, not termination messages"),
  resizePolicy: quiet("limits of a module change by a new deployment"),
  livenessProbe: ignored(probes),
  readinessProbe: ignored(probes),
  startupProbe: ignored(probes),
  lifecycle: refused("IoT Edge has no postStart or preStop hooks"),
  volumeDevices: refused("IoT Edge has no block volumes"),
  restartPolicy: refused("IoT Edge has no sidecar containers; use the pod's restartPolicy"),
};

/** Whether a field carries a setting: false, null, "" and empty lists or maps say nothing. */
export function isSet(value: unknown): boolean {
  if (value === undefined || value === null || value === false || value === "") return false;
  if (Array.isArray(value)) return value.length > 0;
  if (typeof value === "object") return Object.keys(value).length > 0;
  return true;
}

/** Applies a policy table to an object: refuses, warns, or leaves the field to its translator. */
export function checkFields(
  object: object,
  policies: Readonly<Record<string, FieldPolicy>>,
  path: string,
  findings: Findings,
): void {
  for (const [field, value] of Object.entries(object)) {
    if (!isSet(value)) continue;
    const policy = policies[field];
    const fieldPath = `${path}.${field}`;
    if (policy === undefined) {
      findings.refuse(fieldPath, "not a field the connector knows how to run on IoT Edge");
    } else if (policy.kind === "ignored") {
      findings.warn(fieldPath, `ignored: ${policy.reason}`);
    } else if (policy.kind === "refused") {
      findings.refuse(fieldPath, policy.reason);
    }
  }
}
