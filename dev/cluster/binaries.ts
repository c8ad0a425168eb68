// Where the control-plane binaries built by dev/cluster/build.sh live, and which are missing.
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";
import path from "node:path";

export const KUBE_VERSION = "v1.36.3";
export const HELM_VERSION = "v3.22.0";

const binDir = fileURLToPath(new URL("../../.cache/bin/", import.meta.url));

export const binaries = {
  /** Multi-call binary: `kube kube-apiserver|kube-controller-manager|kube-scheduler|kubectl ...`. */
  kube: path.join(binDir, "kube"),
  etcd: path.join(binDir, "etcd"),
  helm: path.join(binDir, "helm"),
} as const;

export function missingBinaries(): string[] {
  return Object.values(binaries).filter((file) => !existsSync(file));
}
