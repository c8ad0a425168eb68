// Which ConfigMaps and Secrets the translator will look up for a pod, so that the adapter fetches
// exactly those from the cluster before it translates. An optional one may be absent; a required
// one that is absent makes the translation refuse the pod, naming the reference.
import type { V1Pod } from "@kubernetes/client-node";
import { annotations } from "./annotations.js";
import { isLegacyPod, legacyConfigMaps } from "./legacyAnnotations.js";

export interface PodReference {
  readonly kind: "ConfigMap" | "Secret";
  readonly name: string;
  readonly optional: boolean;
}

export function podReferences(pod: V1Pod): PodReference[] {
  const found = new Map<string, PodReference>();
  const add = (kind: PodReference["kind"], name: string | undefined, optional: boolean) => {
    if (!name) return;
    const key = `${kind}/${name}`;
    const known = found.get(key);
    if (!known || (known.optional && !optional)) found.set(key, { kind, name, optional });
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
      add("ConfigMap", configMapRef?.name, configMapRef?.optional === true);
      const secretRef = env.valueFrom?.secretKeyRef;
      add("Secret", secretRef?.name, secretRef?.optional === true);
    }
    for (const source of container.envFrom ?? []) {
      add("ConfigMap", source.configMapRef?.name, source.configMapRef?.optional === true);
      add("Secret", source.secretRef?.name, source.secretRef?.optional === true);
    }
  }
  for (const secret of pod.spec?.imagePullSecrets ?? []) add("Secret", secret.name, false);
  return [...found.values()];
}
