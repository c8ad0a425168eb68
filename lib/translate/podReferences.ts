// Which ConfigMaps and Secrets the translator will look up for a pod, and which of their keys, so
// that the adapter fetches exactly those from the cluster and sends only those keys' values. An
// optional one may be absent; a required one that is absent makes the translation refuse the pod,
// naming the reference.
import type { V1Pod } from "@kubernetes/client-node";
import { annotations } from "./annotations.js";
import { isLegacyPod, legacyConfigMaps } from "./legacyAnnotations.js";

export interface PodReference {
  readonly kind: "ConfigMap" | "Secret";
  readonly name: string;
  readonly optional: boolean;
  /** the keys the translator reads; "all" when the whole object is used (envFrom, routes, twins) */
  readonly keys: readonly string[] | "all";
}

/** The keys an image pull Secret is read from (registryCredentials.ts). */
export const pullSecretKeys = [".dockerconfigjson", ".dockercfg"] as const;

function unionOf(a: PodReference["keys"], b: PodReference["keys"]): PodReference["keys"] {
  return a === "all" || b === "all" ? "all" : [...new Set([...a, ...b])];
}

export function podReferences(pod: V1Pod): PodReference[] {
  const found = new Map<string, PodReference>();
  const add = (
    kind: PodReference["kind"],
    name: string | undefined,
    optional: boolean,
    keys: PodReference["keys"] = "all",
  ) => {
    if (!name) return;
    const key = `${kind}/${name}`;
    const known = found.get(key);
    found.set(key, {
      kind,
      name,
      optional: known === undefined ? optional : known.optional && optional,
      keys: known === undefined ? keys : unionOf(known.keys, keys),
    });
  };
  const podAnnotations = pod.metadata?.annotations ?? {};
  for (const [name, value] of Object.entries(podAnnotations)) {
    if (name === annotations.routesConfigMap || name.startsWith(annotations.twinConfigMap)) {
      add("ConfigMap", value.trim(), false);
    }
  }
  const containers = pod.spec?.containers ?? [];
  if (isLegacyPod(podAnnotations)) {
    add("ConfigMap", legacyConfigMaps.edgeHub, true);
    add("ConfigMap", legacyConfigMaps.edgeAgent, true);
    for (const container of containers) add("ConfigMap", container.name, true);
  }
  for (const container of containers) {
    for (const env of container.env ?? []) {
      const configMapRef = env.valueFrom?.configMapKeyRef;
      add("ConfigMap", configMapRef?.name, configMapRef?.optional === true, [configMapRef?.key ?? ""]);
      const secretRef = env.valueFrom?.secretKeyRef;
      add("Secret", secretRef?.name, secretRef?.optional === true, [secretRef?.key ?? ""]);
    }
    for (const source of container.envFrom ?? []) {
      add("ConfigMap", source.configMapRef?.name, source.configMapRef?.optional === true);
      add("Secret", source.secretRef?.name, source.secretRef?.optional === true);
    }
  }
  for (const secret of pod.spec?.imagePullSecrets ?? [])
    add("Secret", secret.name, false, [...pullSecretKeys]);
  return [...found.values()];
}
