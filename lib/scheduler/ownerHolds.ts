// Holds: a configuration kept on the hub for a workload whose pod left without user intent (evicted,
// or deleted while its node was not Ready; the rule is lib/adapter/retention.ts, docs/outages.md).
// A hold takes the pod's place among the configuration's holders, so the planner treats it like a pod:
// the configuration stays while it is held. It is keyed by the pod's owner (its controller) and node,
// and ends when the node's adapter finds the owner gone or scaled down (it releases the hold) or when
// a pod of the same owner wants a configuration (the replacement then holds what it needs).

/** A pod's controller (ownerReference with controller: true); its namespace is the pod's. */
export interface PodOwner {
  kind: string;
  name: string;
  uid: string;
}

export interface Hold {
  node: string;
  namespace: string;
  owner: PodOwner;
}

const holdPrefix = "hold/";

/** `namespace/kind/name/uid`: what a want's `owner` carries. */
export function ownerKey(namespace: string, owner: PodOwner): string {
  return `${namespace}/${owner.kind}/${owner.name}/${owner.uid}`;
}

/** `hold/<node>/<namespace>/<kind>/<name>/<uid>`: a holder key beside the pod keys (`namespace/name/uid`). */
export function holdKey({ node, namespace, owner }: Hold): string {
  return `${holdPrefix}${node}/${ownerKey(namespace, owner)}`;
}

export function parseHoldKey(key: string): Hold | undefined {
  if (!key.startsWith(holdPrefix)) return undefined;
  const [node, namespace, kind, name, uid, ...rest] = key.slice(holdPrefix.length).split("/");
  if (!node || !namespace || !kind || !name || !uid || rest.length > 0) return undefined;
  return { node, namespace, owner: { kind, name, uid } };
}

/** Whether the holder key is a hold for this owner (`ownerKey`), on any node. */
export function isHoldOf(holder: string, owner: string): boolean {
  const hold = parseHoldKey(holder);
  return hold !== undefined && ownerKey(hold.namespace, hold.owner) === owner;
}
