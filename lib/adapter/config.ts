// The adapter's configuration, read once at start from flags and the environment and checked with
// zod: every missing or malformed field is named with the reason, all at once. The node's key is
// kept in the returned object only; error messages never include setting values. The provider URL
// must be https (the key travels with every call) unless a flag named for local development allows
// plain http.
import { readFileSync } from "node:fs";
import { parseArgs } from "node:util";
import { z } from "zod";
import { parseNodePolicy, PolicyError, type NodePolicy } from "../policy/fleetPolicy.js";

export interface AdapterConfig {
  nodeName: string;
  hubName: string;
  /** base URL of the Functions app's HTTP API, e.g. https://app.azurewebsites.net/api */
  providerUrl: string;
  /** plain http to the provider: only for a Functions host on the developer's machine */
  allowHttpProviderForLocalDevelopment: boolean;
  /** this node's own key for the provider API (sent as the Functions host key) */
  functionKey: string;
  /** kubeconfig file; absent = in-cluster service account */
  kubeconfig?: string;
  /** address the kubelet API is reached on (Node InternalIP) */
  nodeAddress: string;
  kubeletPort: number;
  kubeletListenHost: string;
  tlsCertFile: string;
  tlsKeyFile: string;
  /** CA bundle that client certificates of kubelet API callers must chain to (the apiserver's kubelet client CA) */
  kubeletClientCaFile: string;
  metricsPort: number;
  metricsListenHost: string;
  statusIntervalMs: number;
  nodeStatusIntervalMs: number;
  leaseIntervalMs: number;
  /** how often the pod list is reconciled with the provider's (both ways), besides at start */
  reconcileIntervalMs: number;
  leaseDurationSeconds: number;
  /** capacity reported until the provider answers (pods, cpu, memory) */
  capacity: Record<string, string>;
  /** pods sent to the provider at once (virtual-kubelet's --pod-sync-workers) */
  podSyncWorkers: number;
  /** bound on draining in-flight work at shutdown */
  shutdownTimeoutMs: number;
  logLevel: string;
  kubeletVersion: string;
  /** the node's taint: pods must tolerate it to land on the node */
  taint: NodeTaint;
  /** this node's fleet policy (the chart's `nodes[].policy`): checked here for fast feedback, before
   * the pod and its Secrets leave the cluster; the Functions app enforces its own copy regardless */
  fleetPolicy?: NodePolicy;
}

export interface NodeTaint {
  key: string;
  /** absent = a taint without value (`key:Effect`) */
  value?: string;
  effect: "NoSchedule" | "PreferNoSchedule" | "NoExecute";
}

/**
 * The original connector's taint (its chart's values and the toleration of its sample Deployment), so
 * its manifests run unchanged.
 */
export const defaultNodeTaint = "virtual-kubelet.io/provider=iotedge:NoSchedule";

export class AdapterConfigError extends Error {
  constructor(readonly problems: { field: string; reason: string }[]) {
    super(`invalid adapter configuration: ${problems.map((p) => `${p.field}: ${p.reason}`).join("; ")}`);
    this.name = "AdapterConfigError";
  }
}

/** Each field: its flag name, its environment variable. */
export const adapterSettingNames = {
  nodeName: ["node-name", "NODE_NAME"],
  hubName: ["hub-name", "HUB_NAME"],
  providerUrl: ["provider-url", "PROVIDER_URL"],
  allowHttpProviderForLocalDevelopment: [
    "allow-http-provider-for-local-development",
    "ALLOW_HTTP_PROVIDER_FOR_LOCAL_DEVELOPMENT",
  ],
  functionKey: ["function-key", "FUNCTION_KEY"],
  functionKeyFile: ["function-key-file", "FUNCTION_KEY_FILE"],
  kubeconfig: ["kubeconfig", "KUBECONFIG"],
  nodeAddress: ["node-address", "POD_IP"],
  kubeletPort: ["kubelet-port", "KUBELET_PORT"],
  kubeletListenHost: ["kubelet-listen-host", "KUBELET_LISTEN_HOST"],
  tlsCertFile: ["tls-cert-file", "TLS_CERT_FILE"],
  tlsKeyFile: ["tls-key-file", "TLS_KEY_FILE"],
  kubeletClientCaFile: ["client-ca-file", "KUBELET_CLIENT_CA_FILE"],
  metricsPort: ["metrics-port", "METRICS_PORT"],
  metricsListenHost: ["metrics-listen-host", "METRICS_LISTEN_HOST"],
  statusIntervalMs: ["status-interval-ms", "STATUS_INTERVAL_MS"],
  nodeStatusIntervalMs: ["node-status-interval-ms", "NODE_STATUS_INTERVAL_MS"],
  leaseIntervalMs: ["lease-interval-ms", "LEASE_INTERVAL_MS"],
  reconcileIntervalMs: ["reconcile-interval-ms", "RECONCILE_INTERVAL_MS"],
  capacityPods: ["capacity-pods", "CAPACITY_PODS"],
  capacityCpu: ["capacity-cpu", "CAPACITY_CPU"],
  capacityMemory: ["capacity-memory", "CAPACITY_MEMORY"],
  podSyncWorkers: ["pod-sync-workers", "POD_SYNC_WORKERS"],
  shutdownTimeoutMs: ["shutdown-timeout-ms", "SHUTDOWN_TIMEOUT_MS"],
  logLevel: ["log-level", "LOG_LEVEL"],
  taint: ["taint", "NODE_TAINT"],
  fleetPolicy: ["fleet-policy", "FLEET_POLICY"],
} as const;

type SettingName = keyof typeof adapterSettingNames;
/** Settings given as a bare flag (`--name`) or as "true"/"false" in the environment. */
const switches: ReadonlySet<SettingName> = new Set(["allowHttpProviderForLocalDevelopment"]);

/** `--help`: every setting's flag and environment variable (defaults and details: docs/adapter.md). */
export function adapterUsage(): string {
  const names = Object.values(adapterSettingNames);
  const width = Math.max(...names.map(([flag]) => flag.length)) + 2;
  const settings = names.map(([flag, variable]) => `  --${flag.padEnd(width)}${variable}`);
  return [
    "usage: node dist/lib/adapter/main.js [--flag=value ...]",
    "",
    "Each setting is a flag or an environment variable (the flag wins):",
    ...settings,
    "",
  ].join("\n");
}

/**
 * 4, not virtual-kubelet's 10: 10 without the app's backlog limit put its task hub behind (1,000 pods
 * 364-565 s to Running); with the limit (20, the app's default) 8 took 106.9 s and 4 took 83.6 s on
 * the shared 2-core bench (docs/benchmarks.md).
 */
export const DEFAULT_POD_SYNC_WORKERS = 4;

const port = z.coerce.number().int().min(1).max(65535);
const interval = z.coerce.number().int().min(100).max(3_600_000);
// A taint in kubectl's notation: key[=value]:Effect; the key may have a DNS-subdomain prefix.
const dnsSubdomain = "[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*";
const labelName = "[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?";
const taintPattern = new RegExp(
  `^(?<key>(${dnsSubdomain}/)?${labelName})(=(?<value>${labelName})?)?:(?<effect>NoSchedule|PreferNoSchedule|NoExecute)$`,
);
const nodeNamePattern = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

const schema = z.object({
  nodeName: z
    .string()
    .max(253)
    .regex(nodeNamePattern, "must be a DNS subdomain (lower case, digits, '-', '.')"),
  hubName: z.string().regex(/^[A-Za-z0-9-]{3,50}$/, "must be an IoT Hub name (3-50 letters, digits, '-')"),
  providerUrl: z.url({ protocol: /^https?$/, error: "must be an http(s) URL" }),
  allowHttpProviderForLocalDevelopment: z
    .enum(["true", "false"], "must be true or false")
    .default("false")
    .transform((value) => value === "true"),
  functionKey: z.string().min(1, "is required (or functionKeyFile)"),
  kubeconfig: z.string().min(1).optional(),
  nodeAddress: z.string().min(1),
  kubeletPort: port.default(10250),
  kubeletListenHost: z.string().min(1).default("0.0.0.0"),
  tlsCertFile: z.string().min(1),
  tlsKeyFile: z.string().min(1),
  kubeletClientCaFile: z.string().min(1),
  metricsPort: port.default(8080),
  metricsListenHost: z.string().min(1).default("0.0.0.0"),
  statusIntervalMs: interval.default(5_000),
  nodeStatusIntervalMs: interval.default(10_000),
  leaseIntervalMs: interval.default(10_000),
  reconcileIntervalMs: interval.default(300_000),
  capacityPods: z.string().regex(/^\d+$/, "must be a whole number").default("110"),
  capacityCpu: z.string().min(1).default("20"),
  capacityMemory: z.string().min(1).default("100Gi"),
  podSyncWorkers: z.coerce.number().int().min(1).max(100).default(DEFAULT_POD_SYNC_WORKERS),
  shutdownTimeoutMs: interval.default(10_000),
  logLevel: z.enum(["trace", "debug", "info", "warn", "error", "fatal", "silent"]).default("info"),
  taint: z
    .string()
    .regex(taintPattern, "must be key[=value]:Effect (Effect NoSchedule, PreferNoSchedule or NoExecute)")
    .default(defaultNodeTaint),
});

/** Flags win over environment variables; the function key may come from a file (a mounted Secret). */
export function readAdapterConfig(env: NodeJS.ProcessEnv, argv: string[] = []): AdapterConfig {
  const options = Object.fromEntries(
    (Object.entries(adapterSettingNames) as [SettingName, readonly [string, string]][]).map(
      ([field, [flag]]) => [flag, { type: switches.has(field) ? ("boolean" as const) : ("string" as const) }],
    ),
  );
  const { values: flags } = parseArgs({ args: argv, options, strict: true, allowPositionals: false });
  const raw: Partial<Record<SettingName, string>> = {};
  for (const [field, [flag, variable]] of Object.entries(adapterSettingNames) as [
    SettingName,
    readonly [string, string],
  ][]) {
    const flagValue = flags[flag];
    const value = typeof flagValue === "string" ? flagValue : flagValue === true ? "true" : env[variable];
    if (value !== undefined && value !== "") raw[field] = value;
  }
  const problems: { field: string; reason: string }[] = [];
  if (raw.functionKey === undefined && raw.functionKeyFile !== undefined) {
    try {
      raw.functionKey = readFileSync(raw.functionKeyFile, "utf8").trim();
    } catch (error) {
      problems.push({
        field: describeField("functionKeyFile"),
        reason: `cannot be read (${(error as NodeJS.ErrnoException).code ?? "error"})`,
      });
    }
  }
  let fleetPolicy: NodePolicy | undefined;
  if (raw.fleetPolicy !== undefined) {
    try {
      fleetPolicy = parseNodePolicy(raw.fleetPolicy);
    } catch (error) {
      if (!(error instanceof PolicyError)) throw error;
      for (const problem of error.problems)
        problems.push({ field: describeField("fleetPolicy"), reason: `${problem.field}: ${problem.reason}` });
    }
  }
  const parsed = schema.safeParse(raw);
  if (!parsed.success) {
    for (const issue of parsed.error.issues) {
      const field = issue.path.join(".");
      const reason =
        raw[field as SettingName] === undefined && issue.code === "invalid_type"
          ? "is required"
          : issue.message;
      // An unreadable key file already says why the key is missing.
      if (!(field === "functionKey" && raw.functionKeyFile !== undefined)) {
        problems.push({ field: describeField(field), reason });
      }
    }
  }
  if (
    parsed.success &&
    new URL(parsed.data.providerUrl).protocol === "http:" &&
    !parsed.data.allowHttpProviderForLocalDevelopment
  ) {
    problems.push({
      field: describeField("providerUrl"),
      reason:
        "must be an https URL: the node's key travels with every call (plain http only for a Functions host on this machine, with --allow-http-provider-for-local-development)",
    });
  }
  if (problems.length > 0 || !parsed.success) throw new AdapterConfigError(problems);
  const { capacityPods, capacityCpu, capacityMemory, taint, ...rest } = parsed.data;
  return {
    ...rest,
    ...(fleetPolicy !== undefined && { fleetPolicy }),
    providerUrl: rest.providerUrl.replace(/\/+$/, ""),
    leaseDurationSeconds: Math.max(40, Math.ceil((rest.leaseIntervalMs * 4) / 1000)),
    capacity: { pods: capacityPods, cpu: capacityCpu, memory: capacityMemory },
    kubeletVersion: "v1.36.3-iot-edge-connector",
    taint: parseTaint(taint),
  };
}

/** `key[=value]:Effect` (already checked against taintPattern) as the node's taint. */
function parseTaint(text: string): NodeTaint {
  const { key, value, effect } = taintPattern.exec(text)?.groups ?? {};
  return {
    key: key ?? "",
    ...(value ? { value } : {}),
    effect: effect as NodeTaint["effect"],
  };
}

/** `field (--flag / ENV)`, so an operator sees both ways to set it. */
function describeField(field: string): string {
  const names = adapterSettingNames[field as SettingName] as readonly [string, string] | undefined;
  return names ? `${field} (--${names[0]} / ${names[1]})` : field;
}
