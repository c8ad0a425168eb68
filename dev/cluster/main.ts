// Starts the test control plane for interactive use and keeps it up until Ctrl-C:
//   npm run dev:control-plane [-- node-name ...]
// then, in another shell, `export KUBECONFIG=.cache/cluster/admin.kubeconfig` and use
// .cache/bin/kubectl and .cache/bin/helm. Each start is a fresh, empty cluster.
import { rm } from "node:fs/promises";
import { fileURLToPath } from "node:url";
import { startControlPlane } from "./controlPlane.js";

const dir = fileURLToPath(new URL("../../.cache/cluster/", import.meta.url));
const nodes = process.argv.slice(2);

await rm(dir, { recursive: true, force: true });
const cluster = await startControlPlane({ dir, nodes });
console.log(`Kubernetes control plane ready at ${cluster.server} (logs in ${dir})`);
console.log(`  export KUBECONFIG=${cluster.kubeconfigPath}`);
for (const [node, credential] of Object.entries(cluster.nodeCredentials)) {
  console.log(`  kubelet identity of node ${node}: ${credential.kubeconfigPath}`);
}
console.log("Ctrl-C stops it.");

for (const signal of ["SIGINT", "SIGTERM"] as const) {
  process.once(signal, () => {
    console.log("stopping...");
    void cluster.stop().then(() => process.exit(0));
  });
}
