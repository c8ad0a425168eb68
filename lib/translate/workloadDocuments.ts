// A multi-document YAML file as the CLI reads it: the pods to translate (Pods, and the pod
// templates of Deployments, ReplicaSets, StatefulSets, DaemonSets and Jobs) and the ConfigMaps
// and Secrets beside them, which stand in for what the adapter would fetch from the cluster.
import type { V1Pod, V1PodTemplateSpec } from "@kubernetes/client-node";
import { parseAllDocuments } from "yaml";
import type { ResolvedConfigMap, ResolvedReferences, ResolvedSecret } from "./resolvedReferences.js";

export const workloadKinds = ["Deployment", "ReplicaSet", "StatefulSet", "DaemonSet", "Job"] as const;

export interface SourcedPod {
  /** where the pod came from, for messages: "Deployment default/tempsensor (document 1)" */
  readonly source: string;
  readonly pod: V1Pod;
}

export interface WorkloadDocuments {
  readonly pods: readonly SourcedPod[];
  /** the ConfigMaps and Secrets of the file in one namespace */
  references(namespace: string): ResolvedReferences;
  /** documents that are neither pods, workloads, ConfigMaps nor Secrets */
  readonly skipped: readonly string[];
}

export class DocumentError extends Error {
  override name = "DocumentError";
}

interface KubeObject {
  apiVersion?: string;
  kind?: string;
  metadata?: { name?: string; namespace?: string };
  spec?: { template?: V1PodTemplateSpec };
  items?: unknown[];
  data?: Record<string, string>;
  stringData?: Record<string, string>;
  binaryData?: Record<string, string>;
  type?: string;
}

/** The pod a workload's controller would create from its template (the owner stands for the controller). */
export function podFromTemplate(workload: KubeObject, template: V1PodTemplateSpec): V1Pod {
  const name = workload.metadata?.name ?? "";
  return {
    apiVersion: "v1",
    kind: "Pod",
    metadata: {
      ...template.metadata,
      name,
      namespace: workload.metadata?.namespace ?? template.metadata?.namespace ?? "default",
      ownerReferences: [
        { apiVersion: workload.apiVersion ?? "", kind: workload.kind ?? "", name, uid: "", controller: true },
      ],
    },
    spec: template.spec,
  };
}

export function parseWorkloadDocuments(text: string): WorkloadDocuments {
  const pods: SourcedPod[] = [];
  const skipped: string[] = [];
  const configMaps = new Map<string, Record<string, ResolvedConfigMap>>();
  const secrets = new Map<string, Record<string, ResolvedSecret>>();

  const visit = (object: KubeObject, where: string) => {
    if (typeof object !== "object" || object === null || Array.isArray(object)) {
      if (object !== null && object !== undefined) skipped.push(`${where}: not a Kubernetes object`);
      return;
    }
    const namespace = object.metadata?.namespace ?? "default";
    const name = object.metadata?.name ?? "";
    const describe = `${object.kind ?? "document"} ${namespace}/${name} (${where})`;
    if (object.kind === "List") {
      (object.items ?? []).forEach((item, index) => visit(item as KubeObject, `${where}, item ${index + 1}`));
    } else if (object.kind === "Pod") {
      pods.push({ source: describe, pod: object as V1Pod });
    } else if ((workloadKinds as readonly string[]).includes(object.kind ?? "")) {
      const template = object.spec?.template;
      if (!template) throw new DocumentError(`${describe}: spec.template is required`);
      pods.push({ source: describe, pod: podFromTemplate(object, template) });
    } else if (object.kind === "ConfigMap") {
      const byName = configMaps.get(namespace) ?? {};
      byName[name] = { data: object.data ?? {}, binaryData: object.binaryData ?? {} };
      configMaps.set(namespace, byName);
    } else if (object.kind === "Secret") {
      const byName = secrets.get(namespace) ?? {};
      byName[name] = { type: object.type, data: object.data ?? {}, stringData: object.stringData ?? {} };
      secrets.set(namespace, byName);
    } else {
      skipped.push(`${describe}: not a pod or workload`);
    }
  };

  parseAllDocuments(text).forEach((document, index) => {
    const where = `document ${index + 1}`;
    if (!("errors" in document)) return;
    const error = document.errors[0];
    if (error) throw new DocumentError(`${where}: ${error.message}`);
    visit(document.toJS() as KubeObject, where);
  });
  return {
    pods,
    skipped,
    references: (namespace) => ({
      configMaps: configMaps.get(namespace) ?? {},
      secrets: secrets.get(namespace) ?? {},
    }),
  };
}
