// What a module's Docker create options may ask of the device, modelled on the Pod Security
// Standards' baseline but fitted to edge modules, which routinely bind host ports and folders.
// The rules read the create options edgeAgent will pass to Docker, whatever produced them (the pod
// spec or the original connector's ConfigMap), so no spelling escapes them. Docker reads JSON keys
// without regard to case, so keys are matched that way too, and a key given twice in two cases is
// refused. HostConfig is an allow-list: a setting not named here needs the `privileged` grant.
import type { Grant, PortRange } from "./fleetPolicy.js";
import { bindsDevices, insideAllowed, normalisedHostPath, protectedPathProblem } from "./hostPaths.js";

export type PrivilegeRule =
  | "privileged"
  | "hostNetwork"
  | "hostPID"
  | "hostIPC"
  | "capabilities"
  | "devices"
  | "protectedHostPaths"
  | "mountPropagation"
  | "hostPaths"
  | "hostPorts"
  | "securityOptions"
  | "sysctls"
  | "dockerSettings";

export interface PrivilegeViolation {
  /** where in the create options, e.g. `HostConfig.Binds[0]` */
  path: string;
  rule: PrivilegeRule;
  reason: string;
  /** the grant that would allow it; absent for a namespace's own allow-lists */
  grant?: Grant;
}

export interface ContainerAllowance {
  grants: ReadonlySet<Grant>;
  /** host folders modules may bind; undefined: any but the protected ones */
  hostPaths?: readonly string[];
  /** host ports modules may bind; undefined: any */
  hostPorts?: readonly PortRange[];
}

/** Pod Security Standards baseline: the capabilities a container may add. */
export const baselineCapabilities: ReadonlySet<string> = new Set([
  "AUDIT_WRITE",
  "CHOWN",
  "DAC_OVERRIDE",
  "FOWNER",
  "FSETID",
  "KILL",
  "MKNOD",
  "NET_BIND_SERVICE",
  "SETFCAP",
  "SETGID",
  "SETPCAP",
  "SETUID",
  "SYS_CHROOT",
]);

/** Pod Security Standards baseline: the sysctls a container may set. */
export const safeSysctls: ReadonlySet<string> = new Set([
  "kernel.shm_rmid_forced",
  "net.ipv4.ip_local_port_range",
  "net.ipv4.ip_unprivileged_port_start",
  "net.ipv4.tcp_syncookies",
  "net.ipv4.ping_group_range",
  "net.ipv4.ip_local_reserved_ports",
  "net.ipv4.tcp_keepalive_time",
  "net.ipv4.tcp_fin_timeout",
  "net.ipv4.tcp_keepalive_intvl",
  "net.ipv4.tcp_keepalive_probes",
]);

/** Pod Security Standards baseline: the SELinux types a container may run as. */
const safeSelinuxTypes = new Set([
  "container_t",
  "container_init_t",
  "container_kvm_t",
  "container_engine_t",
]);

/** HostConfig settings that only shape resources, logging and names: allowed to everyone. */
const harmlessHostConfig = new Set(
  [
    "AutoRemove",
    "BlkioWeight",
    "CapDrop",
    "ConsoleSize",
    "CpuPeriod",
    "CpuQuota",
    "CpuShares",
    "CpusetCpus",
    "CpusetMems",
    "Dns",
    "DnsOptions",
    "DnsSearch",
    "ExtraHosts",
    "GroupAdd",
    "Init",
    "LogConfig",
    "Memory",
    "MemoryReservation",
    "MemorySwap",
    "MemorySwappiness",
    "NanoCpus",
    "OomScoreAdj",
    "PidsLimit",
    "ReadonlyRootfs",
    "RestartPolicy",
    "ShmSize",
    "Tmpfs",
    "Ulimits",
  ].map((key) => key.toLowerCase()),
);

type Json = Record<string, unknown>;
const isObject = (value: unknown): value is Json =>
  typeof value === "object" && value !== null && !Array.isArray(value);

class Findings {
  readonly violations: PrivilegeViolation[] = [];
  add(path: string, rule: PrivilegeRule, reason: string, grant?: Grant): void {
    this.violations.push({ path, rule, reason, ...(grant !== undefined && { grant }) });
  }
}

/** The object's keys by lower case; a key given twice in two cases is itself a violation. */
function keysOf(
  object: Json,
  path: string,
  findings: Findings,
): Map<string, { key: string; value: unknown }> {
  const keys = new Map<string, { key: string; value: unknown }>();
  for (const [key, value] of Object.entries(object)) {
    const lower = key.toLowerCase();
    const earlier = keys.get(lower);
    if (earlier !== undefined) {
      findings.add(
        `${path}${key}`,
        "dockerSettings",
        `is given twice (${earlier.key} and ${key}); Docker reads keys without regard to case`,
      );
    }
    keys.set(lower, { key, value });
  }
  return keys;
}

const list = (value: unknown): unknown[] => (Array.isArray(value) ? value : []);
/** A scalar as Docker would read it; anything else as JSON, which no rule accepts. */
const scalar = (value: unknown): string =>
  typeof value === "string" || typeof value === "number" || typeof value === "boolean"
    ? String(value)
    : (JSON.stringify(value) ?? "");
const nonEmpty = (value: unknown) =>
  value !== undefined && value !== null && !(Array.isArray(value) && value.length === 0);

function hostPath(path: string, where: string, allowance: ContainerAllowance, findings: Findings): void {
  const problem = protectedPathProblem(path);
  if (problem !== undefined) findings.add(where, "protectedHostPaths", problem, "privileged");
  else if (bindsDevices(path)) {
    findings.add(where, "devices", `binds ${normalisedHostPath(path)}: device files`, "devices");
  } else if (allowance.hostPaths !== undefined && !insideAllowed(path, allowance.hostPaths)) {
    const allowed = allowance.hostPaths.join(", ") || "none";
    findings.add(
      where,
      "hostPaths",
      `binds ${normalisedHostPath(path)}, outside the host folders the namespace may bind (${allowed})`,
    );
  }
}

function propagation(mode: unknown, where: string, findings: Findings): void {
  if (typeof mode === "string" && /^r?shared$/i.test(mode)) {
    findings.add(
      where,
      "mountPropagation",
      `mount propagation ${mode} lets the module mount on the device`,
      "privileged",
    );
  }
}

function binds(value: unknown, allowance: ContainerAllowance, findings: Findings): void {
  list(value).forEach((bind, index) => {
    const where = `HostConfig.Binds[${index}]`;
    if (typeof bind !== "string") return findings.add(where, "dockerSettings", "must be host:container text");
    const [source = "", , options = ""] = bind.split(":");
    // A source that is not a path names a Docker volume, which lives in Docker's own folder.
    if (source.startsWith("/")) hostPath(source, where, allowance, findings);
    for (const option of options.split(",")) propagation(option, where, findings);
  });
}

function mounts(value: unknown, allowance: ContainerAllowance, findings: Findings): void {
  list(value).forEach((mount, index) => {
    const where = `HostConfig.Mounts[${index}]`;
    if (!isObject(mount)) return findings.add(where, "dockerSettings", "must be an object");
    const keys = keysOf(mount, `${where}.`, findings);
    const type = scalar(keys.get("type")?.value ?? "volume").toLowerCase();
    if (type === "bind") {
      hostPath(scalar(keys.get("source")?.value ?? ""), where, allowance, findings);
      const options = keys.get("bindoptions")?.value;
      if (isObject(options))
        propagation(keysOf(options, "", findings).get("propagation")?.value, where, findings);
    } else if (type === "volume") {
      const options = keys.get("volumeoptions")?.value;
      if (isObject(options) && nonEmpty(keysOf(options, "", findings).get("driverconfig")?.value)) {
        findings.add(
          where,
          "dockerSettings",
          "a volume driver's options can mount any host folder",
          "privileged",
        );
      }
    } else if (type !== "tmpfs") {
      findings.add(
        where,
        "dockerSettings",
        `mount type ${type} is not a bind, volume or tmpfs`,
        "privileged",
      );
    }
  });
}

const portText = (range: PortRange) =>
  range.from === range.to ? `${range.from}` : `${range.from}-${range.to}`;

function portBindings(value: unknown, allowance: ContainerAllowance, findings: Findings): void {
  if (value === undefined || value === null) return;
  if (!isObject(value)) return findings.add("HostConfig.PortBindings", "dockerSettings", "must be an object");
  const allowed = allowance.hostPorts;
  if (allowed === undefined) return;
  const allowedText = allowed.map(portText).join(", ") || "none";
  for (const [port, bindings] of Object.entries(value)) {
    list(bindings).forEach((binding, index) => {
      const where = `HostConfig.PortBindings[${port}][${index}]`;
      const hostPort = isObject(binding)
        ? keysOf(binding, `${where}.`, findings).get("hostport")?.value
        : undefined;
      const text = hostPort === undefined || hostPort === null ? "" : scalar(hostPort);
      const match = /^(\d+)(?:-(\d+))?$/.exec(text);
      const from = Number(match?.[1]);
      const to = Number(match?.[2] ?? match?.[1]);
      const inside = match !== null && allowed.some((range) => range.from <= from && to <= range.to);
      if (!inside) {
        findings.add(
          where,
          "hostPorts",
          `binds host port ${text || "(any the device picks)"}, outside the ports the namespace may bind (${allowedText})`,
        );
      }
    });
  }
}

function namespaceMode(
  key: "NetworkMode" | "PidMode" | "IpcMode" | "UTSMode" | "UsernsMode" | "CgroupnsMode",
  value: unknown,
  findings: Findings,
): void {
  if (value === undefined || value === null || value === "") return;
  const where = `HostConfig.${key}`;
  if (typeof value !== "string") return findings.add(where, "dockerSettings", "must be text");
  const mode = value.toLowerCase();
  const shared = {
    NetworkMode: "network",
    PidMode: "process",
    IpcMode: "IPC",
    UTSMode: "host name",
    UsernsMode: "user",
    CgroupnsMode: "cgroup",
  }[key];
  const rule = { NetworkMode: "hostNetwork", PidMode: "hostPID", IpcMode: "hostIPC" } as const;
  if (mode === "host") {
    const grant = key in rule ? rule[key as keyof typeof rule] : undefined;
    findings.add(
      where,
      grant ?? "privileged",
      `shares the device's ${shared} namespace`,
      grant ?? "privileged",
    );
  } else if (mode.startsWith("container:")) {
    findings.add(
      where,
      "privileged",
      `joins another container's ${shared} namespace (${value})`,
      "privileged",
    );
  }
}

function capabilities(value: unknown, findings: Findings): void {
  list(value).forEach((capability, index) => {
    const name = scalar(capability).toUpperCase().replace(/^CAP_/, "");
    if (!baselineCapabilities.has(name)) {
      findings.add(
        `HostConfig.CapAdd[${index}]`,
        "capabilities",
        `adds capability ${name}, beyond the baseline set`,
        "capabilities",
      );
    }
  });
}

function securityOptions(value: unknown, findings: Findings): void {
  list(value).forEach((entry, index) => {
    const where = `HostConfig.SecurityOpt[${index}]`;
    const text = scalar(entry);
    const [, key = text, option = ""] = /^([^=:]+)[=:](.*)$/.exec(text) ?? [];
    const refuse = (why: string) => findings.add(where, "securityOptions", `${text}: ${why}`, "privileged");
    switch (key.toLowerCase()) {
      case "no-new-privileges":
        return;
      case "apparmor":
        if (option.toLowerCase() === "unconfined") refuse("runs the module without AppArmor");
        return;
      case "label": {
        const [part = "", setting = ""] = option.split(":");
        if (part === "level") return;
        if (part === "type" && safeSelinuxTypes.has(setting)) return;
        return refuse("only the SELinux level or a container type may be set");
      }
      case "seccomp":
        return refuse(
          option === "unconfined" ? "runs the module without seccomp" : "a custom seccomp profile",
        );
      default:
        return refuse("not a security option a module may set");
    }
  });
}

function sysctls(value: unknown, findings: Findings): void {
  if (!isObject(value)) return;
  for (const name of Object.keys(value)) {
    if (!safeSysctls.has(name)) {
      findings.add(
        `HostConfig.Sysctls[${name}]`,
        "sysctls",
        `sets ${name}, outside the safe sysctls`,
        "privileged",
      );
    }
  }
}

function hostConfig(config: Json, allowance: ContainerAllowance, findings: Findings): void {
  for (const { key, value } of keysOf(config, "HostConfig.", findings).values()) {
    const lower = key.toLowerCase();
    if (harmlessHostConfig.has(lower)) continue;
    switch (lower) {
      case "privileged":
        if (value !== false && value !== null)
          findings.add(
            `HostConfig.${key}`,
            "privileged",
            "a privileged container has the whole device",
            "privileged",
          );
        break;
      case "networkmode":
        namespaceMode("NetworkMode", value, findings);
        break;
      case "pidmode":
        namespaceMode("PidMode", value, findings);
        break;
      case "ipcmode":
        namespaceMode("IpcMode", value, findings);
        break;
      case "utsmode":
        namespaceMode("UTSMode", value, findings);
        break;
      case "usernsmode":
        namespaceMode("UsernsMode", value, findings);
        break;
      case "cgroupnsmode":
        namespaceMode("CgroupnsMode", value, findings);
        break;
      case "capadd":
        capabilities(value, findings);
        break;
      case "devices":
      case "devicerequests":
      case "devicecgrouprules":
        if (nonEmpty(value))
          findings.add(`HostConfig.${key}`, "devices", "gives the module device files", "devices");
        break;
      case "securityopt":
        securityOptions(value, findings);
        break;
      case "sysctls":
        sysctls(value, findings);
        break;
      case "binds":
        binds(value, allowance, findings);
        break;
      case "mounts":
        mounts(value, allowance, findings);
        break;
      case "portbindings":
        portBindings(value, allowance, findings);
        break;
      case "publishallports":
        if (value === true && allowance.hostPorts !== undefined) {
          findings.add(
            `HostConfig.${key}`,
            "hostPorts",
            "binds host ports the device picks; the namespace's ports are listed",
          );
        }
        break;
      default:
        findings.add(
          `HostConfig.${key}`,
          "dockerSettings",
          "is not a setting a module may use without the privileged grant",
          "privileged",
        );
    }
  }
}

/** Everything in a module's create options the namespace may not ask for. */
export function createOptionsViolations(
  options: unknown,
  allowance: ContainerAllowance,
): PrivilegeViolation[] {
  if (allowance.grants.has("privileged")) return [];
  const findings = new Findings();
  if (!isObject(options)) return findings.violations;
  const config = keysOf(options, "", findings).get("hostconfig");
  if (config !== undefined && config.value !== null) {
    if (isObject(config.value)) hostConfig(config.value, allowance, findings);
    else findings.add(config.key, "dockerSettings", "must be an object");
  }
  return findings.violations.filter(
    (violation) => violation.grant === undefined || !allowance.grants.has(violation.grant),
  );
}
