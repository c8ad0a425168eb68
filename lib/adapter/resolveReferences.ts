// Fetches the ConfigMaps and Secrets a pod refers to (exactly those podReferences names) so the
// provider can translate it, and keeps only the keys the pod refers to: a Secret's other keys never
// leave the cluster. An absent optional one is left out; an absent required one means the pod must
// wait, as a kubelet waits (CreateContainerConfigError), and is retried with backoff.
import type { CoreV1Api, V1Pod } from "@kubernetes/client-node";
import type { ResolvedObjects } from "../provider/providerContract.js";
import { podReferences, type PodReference } from "../translate/podReferences.js";
import { AdapterError, isNotFound } from "./kubeErrors.js";

export class MissingReferenceError extends Error {
  constructor(
    readonly kind: "ConfigMap" | "Secret",
    readonly referenceName: string,
  ) {
    super(`${kind} "${referenceName}" the pod requires does not exist (yet)`);
    this.name = "MissingReferenceError";
  }
}

/** Only the referenced keys of an object's data. */
export function referencedData(
  data: Record<string, string> | undefined,
  keys: PodReference["keys"],
): Record<string, string> {
  if (data === undefined) return {};
  if (keys === "all") return { ...data };
  return Object.fromEntries(keys.filter((key) => Object.hasOwn(data, key)).map((key) => [key, data[key]!]));
}

export async function resolveReferences(core: CoreV1Api, pod: V1Pod): Promise<ResolvedObjects> {
  const namespace = pod.metadata?.namespace ?? "default";
  const resolved: ResolvedObjects = { configMaps: {}, secrets: {} };
  for (const reference of podReferences(pod)) {
    const { kind, name, optional, keys } = reference;
    try {
      if (kind === "ConfigMap") {
        const configMap = await core.readNamespacedConfigMap({ name, namespace });
        resolved.configMaps[name] = { data: referencedData(configMap.data, keys) };
      } else {
        const secret = await core.readNamespacedSecret({ name, namespace });
        resolved.secrets[name] = { type: secret.type, data: referencedData(secret.data, keys) };
      }
    } catch (error) {
      if (!isNotFound(error)) throw new AdapterError(`reading ${kind} ${namespace}/${name}`, error);
      if (!optional) throw new MissingReferenceError(kind, name);
    }
  }
  return resolved;
}
