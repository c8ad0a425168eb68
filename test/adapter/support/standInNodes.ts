// Healthy stand-in nodes beside the virtual one, so the node lifecycle controller behaves as in a real
// cluster: with every node of a zone unhealthy it enters full disruption and evicts nothing; with
// healthy ones beside it, it taints an unhealthy node NoExecute and evicts its pods. They are Node
// objects whose Ready status is written once and whose Leases (the heartbeat the controller reads)
// this helper renews. No pod lands on them: the test pods select the virtual node.
import {
  CoordinationV1Api,
  CoreV1Api,
  KubeConfig,
  PatchStrategy,
  V1MicroTime,
  setHeaderOptions,
} from "@kubernetes/client-node";
import type { ControlPlane } from "../../../dev/cluster/controlPlane.js";

const LEASE_NAMESPACE = "kube-node-lease";
const RENEW_EVERY_MS = 2_000;

export async function startStandInNodes(cluster: ControlPlane, count: number) {
  const kubeConfig = new KubeConfig();
  kubeConfig.loadFromFile(cluster.kubeconfigPath);
  const core = kubeConfig.makeApiClient(CoreV1Api);
  const coordination = kubeConfig.makeApiClient(CoordinationV1Api);
  const names = Array.from({ length: count }, (_, index) => `stand-in-${index + 1}`);
  for (const name of names) {
    await core.createNode({ body: { metadata: { name, labels: { "kubernetes.io/hostname": name } } } });
    const now = new Date();
    const ready = {
      type: "Ready",
      status: "True",
      reason: "KubeletReady",
      lastHeartbeatTime: now,
      lastTransitionTime: now,
    };
    await core.patchNodeStatus(
      { name, body: { status: { conditions: [ready] } } },
      setHeaderOptions("Content-Type", PatchStrategy.MergePatch),
    );
    await coordination.createNamespacedLease({
      namespace: LEASE_NAMESPACE,
      body: {
        metadata: { name, namespace: LEASE_NAMESPACE },
        spec: { holderIdentity: name, leaseDurationSeconds: 40, renewTime: new V1MicroTime() },
      },
    });
  }
  const renew = async () => {
    for (const name of names) {
      const lease = await coordination.readNamespacedLease({ name, namespace: LEASE_NAMESPACE });
      lease.spec = { ...lease.spec, renewTime: new V1MicroTime() };
      await coordination.replaceNamespacedLease({ name, namespace: LEASE_NAMESPACE, body: lease });
    }
  };
  let renewing: Promise<void> | undefined;
  const timer = setInterval(() => {
    renewing ??= renew()
      .catch(() => undefined) // the next round tries again
      .finally(() => (renewing = undefined));
  }, RENEW_EVERY_MS);
  return {
    names,
    async stop() {
      clearInterval(timer);
      await renewing;
    },
  };
}
