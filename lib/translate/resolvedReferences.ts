// The ConfigMaps and Secrets a pod refers to, fetched from the cluster by the adapter (or taken
// from the same YAML file by the CLI), keyed by name, in their Kubernetes shape.

export interface ResolvedConfigMap {
  data?: Record<string, string>;
  binaryData?: Record<string, string>;
}

export interface ResolvedSecret {
  type?: string;
  /** base64, as the Kubernetes API serves it */
  data?: Record<string, string>;
  stringData?: Record<string, string>;
}

export interface ResolvedReferences {
  configMaps: Readonly<Record<string, ResolvedConfigMap>>;
  secrets: Readonly<Record<string, ResolvedSecret>>;
}

export const noReferences: ResolvedReferences = { configMaps: {}, secrets: {} };

export type Lookup = { found: true; value: string } | { found: false; reason: string };

export function configMapKey(resolved: ResolvedReferences, name: string, key: string): Lookup {
  const configMap = Object.hasOwn(resolved.configMaps, name) ? resolved.configMaps[name] : undefined;
  if (!configMap) return { found: false, reason: `ConfigMap "${name}" was not found in the pod's namespace` };
  const value: unknown = configMap.data?.[key];
  if (value === undefined) return { found: false, reason: `ConfigMap "${name}" has no key "${key}"` };
  if (typeof value !== "string") {
    return { found: false, reason: `ConfigMap "${name}" key "${key}" must be a string (quote it in YAML)` };
  }
  return { found: true, value };
}

/** A Secret's key, decoded: `data` is base64, `stringData` (accepted in YAML files) is plain. */
export function secretKey(resolved: ResolvedReferences, name: string, key: string): Lookup {
  const secret = Object.hasOwn(resolved.secrets, name) ? resolved.secrets[name] : undefined;
  if (!secret) return { found: false, reason: `Secret "${name}" was not found in the pod's namespace` };
  const plain = secret.stringData?.[key];
  if (typeof plain === "string") return { found: true, value: plain };
  const encoded = secret.data?.[key];
  if (typeof encoded !== "string") return { found: false, reason: `Secret "${name}" has no key "${key}"` };
  return { found: true, value: Buffer.from(encoded, "base64").toString("utf8") };
}

/** Every key of a ConfigMap or Secret with its value (Secret values decoded), for envFrom;
 * a string says why there are none. */
export function allEntries(
  resolved: ResolvedReferences,
  kind: "ConfigMap" | "Secret",
  name: string,
): Array<[string, string]> | string {
  const source = kind === "ConfigMap" ? resolved.configMaps : resolved.secrets;
  const object = Object.hasOwn(source, name) ? source[name] : undefined;
  if (!object) return `${kind} "${name}" was not found in the pod's namespace`;
  const keys =
    kind === "ConfigMap"
      ? Object.keys(object.data ?? {})
      : [
          ...new Set([
            ...Object.keys(object.data ?? {}),
            ...Object.keys((object as ResolvedSecret).stringData ?? {}),
          ]),
        ];
  const lookup = kind === "ConfigMap" ? configMapKey : secretKey;
  return keys.flatMap((key) => {
    const found = lookup(resolved, name, key);
    return found.found ? [[key, found.value] as [string, string]] : [];
  });
}
