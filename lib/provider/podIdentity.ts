// How a pod is named inside the app: its key (`namespace/name/uid`, as the scheduler contract
// uses it) and its orchestration instance id, stable for the same pod and valid everywhere the
// Durable Task runtime stores it (no `/ \ # ?`, short enough for a table key and a blob name).
import { createHash } from "node:crypto";
import type { V1Pod } from "@kubernetes/client-node";
import type { PodOwner } from "../scheduler/ownerHolds.js";
import type { PodKey } from "../scheduler/schedulerContract.js";

export interface PodIdentity {
  hub: string;
  namespace: string;
  name: string;
  uid: string;
}

export function podKey({ namespace, name, uid }: Omit<PodIdentity, "hub">): PodKey {
  return `${namespace}/${name}/${uid}`;
}

/** `pod-<hub>-<namespace>-<name>` (cut to stay readable) and a hash of all four parts, so ids never collide. */
export function podInstanceId(pod: PodIdentity): string {
  const digest = createHash("sha256")
    .update(JSON.stringify([pod.hub, pod.namespace, pod.name, pod.uid]))
    .digest("hex")
    .slice(0, 24);
  const readable = `pod-${pod.hub}-${pod.namespace}-${pod.name}`
    .slice(0, 72)
    .replace(/[^A-Za-z0-9._-]/g, "-");
  return `${readable}-${digest}`;
}

/** The pod's controller (its ownerReference with `controller: true`): who holds its configuration when it is evicted. */
export function podOwner(pod: V1Pod): PodOwner | undefined {
  const controller = pod.metadata?.ownerReferences?.find((reference) => reference.controller === true);
  if (!controller?.kind || !controller.name || !controller.uid) return undefined;
  return { kind: controller.kind, name: controller.name, uid: controller.uid };
}
