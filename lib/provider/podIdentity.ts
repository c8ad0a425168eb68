// How a pod is named inside the app: its key (`namespace/name/uid`, as the scheduler contract
// uses it) and its orchestration instance id, stable for the same pod and valid everywhere the
// Durable Task runtime stores it (no `/ \ # ?`, short enough for a table key and a blob name).
import { createHash } from "node:crypto";
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

/** The pod a key names (`namespace/name/uid`), or undefined for a key that is no pod's (the base deployment's). */
export function podIdentityOfKey(key: PodKey): Omit<PodIdentity, "hub"> | undefined {
  const [namespace, name, uid, ...rest] = key.split("/");
  if (!namespace || !name || !uid || rest.length > 0) return undefined;
  return { namespace, name, uid };
}

/** The orchestration instance id of the pod a key names on `hub` (undefined for a key that is no pod's). */
export function podInstanceIdOfKey(hub: string, key: PodKey): string | undefined {
  const identity = podIdentityOfKey(key);
  return identity && podInstanceId({ hub, ...identity });
}
