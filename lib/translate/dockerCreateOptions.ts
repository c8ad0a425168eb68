// Docker create options (the JSON edgeAgent passes to Docker when it creates a module's
// container) from a container and the pod-level settings every module of the pod shares.
import type {
  V1Container,
  V1PodSecurityContext,
  V1PodSpec,
  V1SecurityContext,
  V1Volume,
} from "@kubernetes/client-node";
import type { FieldPolicy } from "./podFields.js";
import { checkFields, isSet } from "./podFields.js";
import type { Findings } from "./podErrors.js";
import { parseQuantity } from "./quantity.js";

export type CreateOptions = Record<string, unknown> & { HostConfig?: Record<string, unknown> };

export const securityFields: Readonly<Record<string, FieldPolicy>> = {
  allowPrivilegeEscalation: { kind: "mapped" },
  capabilities: { kind: "mapped" },
  privileged: { kind: "mapped" },
  readOnlyRootFilesystem: { kind: "mapped" },
  runAsUser: { kind: "mapped" },
  runAsGroup: { kind: "mapped" },
  seccompProfile: { kind: "mapped" },
  appArmorProfile: { kind: "mapped" },
  seLinuxOptions: { kind: "mapped" },
  procMount: { kind: "mapped" },
  supplementalGroups: { kind: "mapped" },
  sysctls: { kind: "mapped" },
  runAsNonRoot: {
    kind: "ignored",
    reason: "IoT Edge does not check the image's user; set runAsUser to be sure",
  },
  fsGroup: { kind: "ignored", reason: "hostPath volumes keep their ownership on the device" },
  fsGroupChangePolicy: { kind: "ignored", reason: "hostPath volumes keep their ownership on the device" },
  supplementalGroupsPolicy: { kind: "ignored", reason: "Docker always merges the image's groups" },
  seLinuxChangePolicy: { kind: "quiet", reason: "volumes are bind mounts relabelled by Docker" },
  windowsOptions: { kind: "refused", reason: "the connector deploys Linux containers only" },
};

/** Kubernetes' volume source names; only hostPath mounts on a device. */
const unsupportedVolumeReasons: Readonly<Record<string, string>> = {
  emptyDir: "IoT Edge has no emptyDir; use a hostPath volume",
  configMap: "IoT Edge cannot mount ConfigMaps; use module twin desired properties or env",
  secret: "IoT Edge cannot mount Secrets; use env (valueFrom.secretKeyRef)",
  persistentVolumeClaim: "IoT Edge has no persistent volume claims; use a hostPath volume",
  downwardAPI: "IoT Edge has no downward API volumes",
};

function mergeInto(target: Record<string, unknown>, key: string, values: unknown[]): void {
  if (values.length === 0) return;
  const existing = Array.isArray(target[key]) ? (target[key] as unknown[]) : [];
  target[key] = [...existing, ...values];
}

/** Security options shared by the pod-level and container-level security contexts. */
function securityOptions(
  context: V1SecurityContext & V1PodSecurityContext,
  path: string,
  hostConfig: Record<string, unknown>,
  findings: Findings,
): void {
  checkFields(context, securityFields, path, findings);
  if (context.privileged) hostConfig.Privileged = true;
  if (context.readOnlyRootFilesystem) hostConfig.ReadonlyRootfs = true;
  mergeInto(hostConfig, "CapAdd", context.capabilities?.add ?? []);
  mergeInto(hostConfig, "CapDrop", context.capabilities?.drop ?? []);
  const securityOpt: string[] = [];
  if (context.allowPrivilegeEscalation === false) securityOpt.push("no-new-privileges");
  for (const [name, profile] of [
    ["seccomp", context.seccompProfile],
    ["apparmor", context.appArmorProfile],
  ] as const) {
    if (!profile || profile.type === "RuntimeDefault") continue;
    if (profile.type === "Unconfined") securityOpt.push(`${name}=unconfined`);
    else if (profile.type === "Localhost" && name === "apparmor" && profile.localhostProfile)
      securityOpt.push(`apparmor=${profile.localhostProfile}`);
    else
      findings.refuse(
        `${path}.${name === "seccomp" ? "seccompProfile" : "appArmorProfile"}`,
        name === "seccomp"
          ? "a Localhost seccomp profile is a file on the node; IoT Edge cannot ship it"
          : "needs type RuntimeDefault, Unconfined or Localhost with localhostProfile",
      );
  }
  const seLinux = context.seLinuxOptions;
  if (seLinux) {
    for (const key of ["user", "role", "type", "level"] as const) {
      if (seLinux[key]) securityOpt.push(`label=${key}:${seLinux[key]}`);
    }
  }
  mergeInto(hostConfig, "SecurityOpt", securityOpt);
  if (context.procMount !== undefined && context.procMount !== "Default") {
    findings.refuse(`${path}.procMount`, "Docker has no unmasked /proc; only Default is possible");
  }
  mergeInto(hostConfig, "GroupAdd", (context.supplementalGroups ?? []).map(String));
  if (context.sysctls && context.sysctls.length > 0) {
    hostConfig.Sysctls = Object.fromEntries(context.sysctls.map((sysctl) => [sysctl.name, sysctl.value]));
  }
}

/** Docker's User ("uid" or "uid:gid"): the container's runAsUser and runAsGroup, each falling
 * back to the pod's, as Kubernetes does. */
function userOption(
  container: V1SecurityContext | undefined,
  pod: V1PodSecurityContext | undefined,
  path: string,
  options: CreateOptions,
  findings: Findings,
): void {
  const user = container?.runAsUser ?? pod?.runAsUser;
  const group = container?.runAsGroup ?? pod?.runAsGroup;
  if (user !== undefined) {
    options.User = group === undefined ? `${user}` : `${user}:${group}`;
  } else if (group !== undefined) {
    const where = container?.runAsGroup !== undefined ? `${path}.securityContext` : "spec.securityContext";
    findings.refuse(`${where}.runAsGroup`, "Docker sets a group only with a user; set runAsUser too");
  }
}

/** The create options every module of the pod gets: host namespaces, DNS, hosts, pod security context. */
export function podCreateOptions(spec: V1PodSpec, findings: Findings): CreateOptions {
  const options: CreateOptions = {};
  const hostConfig: Record<string, unknown> = {};
  if (spec.hostname) options.Hostname = spec.hostname;
  if (spec.hostNetwork) hostConfig.NetworkMode = "host";
  if (spec.hostPID) hostConfig.PidMode = "host";
  if (spec.hostIPC) hostConfig.IpcMode = "host";
  if (spec.hostUsers === false)
    findings.refuse("spec.hostUsers", "IoT Edge runs modules in the device's user namespace");
  const extraHosts = (spec.hostAliases ?? []).flatMap((alias) =>
    (alias.hostnames ?? []).map((host) => `${host}:${alias.ip}`),
  );
  mergeInto(hostConfig, "ExtraHosts", extraHosts);
  if (spec.dnsPolicy === "None" && !isSet(spec.dnsConfig)) {
    findings.refuse("spec.dnsPolicy", 'is "None" but spec.dnsConfig is empty');
  }
  const dns = spec.dnsConfig;
  if (dns) {
    mergeInto(hostConfig, "Dns", dns.nameservers ?? []);
    mergeInto(hostConfig, "DnsSearch", dns.searches ?? []);
    mergeInto(
      hostConfig,
      "DnsOptions",
      (dns.options ?? []).map((option) =>
        option.value === undefined ? `${option.name}` : `${option.name}:${option.value}`,
      ),
    );
  }
  if (spec.securityContext)
    securityOptions(spec.securityContext, "spec.securityContext", hostConfig, findings);
  if (Object.keys(hostConfig).length > 0) options.HostConfig = hostConfig;
  return options;
}

export interface DeviceVolumes {
  readonly usable: ReadonlyMap<string, V1Volume>;
  readonly refused: ReadonlySet<string>;
}

/** Refuses every pod volume that cannot exist on a device; returns the usable ones by name. */
export function deviceVolumes(volumes: readonly V1Volume[], findings: Findings): DeviceVolumes {
  const usable = new Map<string, V1Volume>();
  const refused = new Set<string>();
  volumes.forEach((volume, index) => {
    const path = `spec.volumes[${index}]`;
    const fields = volume as unknown as Record<string, unknown>;
    const source = Object.keys(fields).find(
      (key) => key !== "name" && fields[key] !== undefined && fields[key] !== null,
    );
    if (source === "hostPath") {
      usable.set(volume.name, volume);
    } else if (source === "projected" && volume.projected?.sources?.some((s) => s.serviceAccountToken)) {
      // Every pod the API server admits carries this token volume; a device has no cluster to call.
      findings.warn(`${path}.projected`, "ignored: the service account token has no use on a device");
      usable.set(volume.name, volume);
    } else {
      const reason =
        (source && unsupportedVolumeReasons[source]) ??
        `IoT Edge cannot mount a ${source ?? "volume without a source"}`;
      findings.refuse(`${path}.${source ?? "name"}`, `${reason}; only hostPath volumes mount on a device`);
      refused.add(volume.name);
    }
  });
  return { usable, refused };
}

function portOptions(
  container: V1Container,
  path: string,
  options: CreateOptions,
  hostConfig: Record<string, unknown>,
  findings: Findings,
): void {
  const exposed: Record<string, object> = {};
  const bindings: Record<string, Array<Record<string, string>>> = {};
  (container.ports ?? []).forEach((port, index) => {
    const field = `${path}.ports[${index}]`;
    if (!Number.isInteger(port.containerPort) || port.containerPort < 1 || port.containerPort > 65535) {
      findings.refuse(`${field}.containerPort`, "must be a port number from 1 to 65535");
      return;
    }
    const key = `${port.containerPort}/${(port.protocol ?? "TCP").toLowerCase()}`;
    exposed[key] = {};
    if (port.hostPort !== undefined) {
      const binding: Record<string, string> = { HostPort: String(port.hostPort) };
      if (port.hostIP) binding.HostIp = port.hostIP;
      (bindings[key] ??= []).push(binding);
    } else if (port.hostIP) {
      findings.refuse(`${field}.hostIP`, "needs a hostPort to bind on the device");
    }
  });
  if (Object.keys(exposed).length > 0) options.ExposedPorts = exposed;
  if (Object.keys(bindings).length > 0) hostConfig.PortBindings = bindings;
}

function mountOptions(
  container: V1Container,
  path: string,
  volumes: DeviceVolumes,
  hostConfig: Record<string, unknown>,
  findings: Findings,
): void {
  const binds: string[] = [];
  (container.volumeMounts ?? []).forEach((mount, index) => {
    const field = `${path}.volumeMounts[${index}]`;
    const volume = volumes.usable.get(mount.name);
    if (!volume) {
      // A volume refused in spec.volumes is reported there; a name with no volume at all, here.
      if (!volumes.refused.has(mount.name))
        findings.refuse(`${field}.name`, `no volume "${mount.name}" in spec.volumes`);
      return;
    }
    if (!volume.hostPath) return;
    if (mount.subPathExpr)
      findings.refuse(`${field}.subPathExpr`, "IoT Edge cannot expand per-pod variables in paths");
    if (mount.mountPropagation && mount.mountPropagation !== "None") {
      findings.refuse(`${field}.mountPropagation`, "the connector binds volumes without propagation");
    }
    const hostPath = mount.subPath
      ? `${volume.hostPath.path.replace(/\/$/, "")}/${mount.subPath}`
      : volume.hostPath.path;
    binds.push(`${hostPath}:${mount.mountPath}${mount.readOnly ? ":ro" : ""}`);
  });
  mergeInto(hostConfig, "Binds", binds);
}

function resourceOptions(
  container: V1Container,
  path: string,
  hostConfig: Record<string, unknown>,
  findings: Findings,
): void {
  const resources = container.resources;
  if (!resources) return;
  for (const [name, value] of Object.entries(resources.limits ?? {})) {
    const field = /^\w+$/.test(name)
      ? `${path}.resources.limits.${name}`
      : `${path}.resources.limits[${name}]`;
    const amount = parseQuantity(value);
    if (name !== "memory" && name !== "cpu") {
      findings.refuse(field, "IoT Edge modules can be limited in cpu and memory only");
    } else if (amount === undefined || amount <= 0) {
      findings.refuse(field, "is not a positive Kubernetes quantity");
    } else if (name === "memory") {
      hostConfig.Memory = Math.ceil(amount);
    } else {
      hostConfig.NanoCpus = Math.round(amount * 1e9);
    }
  }
  if (isSet(resources.requests)) {
    findings.warn(
      `${path}.resources.requests`,
      "ignored: a device runs what it is given; only limits are enforced",
    );
  }
  if (isSet(resources.claims))
    findings.refuse(`${path}.resources.claims`, "IoT Edge has no dynamic resource allocation");
}

/** The create options of one container's module, on top of the pod-level ones. */
export function containerCreateOptions(
  container: V1Container,
  path: string,
  pod: { options: CreateOptions; volumes: DeviceVolumes; securityContext?: V1PodSecurityContext | undefined },
  dockerEnv: readonly string[],
  expand: (text: string) => string,
  findings: Findings,
): CreateOptions {
  const options: CreateOptions = { ...pod.options };
  const hostConfig: Record<string, unknown> = { ...pod.options.HostConfig };
  if (dockerEnv.length > 0) options.Env = [...dockerEnv];
  if (container.command && container.command.length > 0) options.Entrypoint = container.command.map(expand);
  if (container.args && container.args.length > 0) options.Cmd = container.args.map(expand);
  if (container.workingDir) options.WorkingDir = container.workingDir;
  if (container.tty) options.Tty = true;
  if (container.stdin) options.OpenStdin = true;
  if (container.stdinOnce) options.StdinOnce = true;
  portOptions(container, path, options, hostConfig, findings);
  mountOptions(container, path, pod.volumes, hostConfig, findings);
  resourceOptions(container, path, hostConfig, findings);
  if (container.securityContext) {
    securityOptions(container.securityContext, `${path}.securityContext`, hostConfig, findings);
  }
  userOption(container.securityContext, pod.securityContext, path, options, findings);
  if (Object.keys(hostConfig).length > 0) options.HostConfig = hostConfig;
  else delete options.HostConfig;
  return options;
}
