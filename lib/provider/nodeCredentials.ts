// Who calls the provider API: each virtual node has its own key, registered with the app as the
// SHA-256 of the key together with the node's name, its hub and its cluster (app setting
// CONNECTOR_NODES, written by Terraform). The key travels as the Functions host key
// (`x-functions-key`, or `code=`), so the host admits it first; the app then finds the node it
// belongs to, and every request is held to that node: its hub, its name, its pods.
import { createHash, timingSafeEqual } from "node:crypto";

/** A virtual node as the provider API knows its caller. */
export interface NodeIdentity {
  /** the cluster the node belongs to: keeps two clusters' nodes of the same name apart */
  cluster: string;
  hub: string;
  node: string;
}

export interface NodeRegistration extends NodeIdentity {
  /** SHA-256 of the node's key, lower-case hex (the app never holds the key itself) */
  keySha256: string;
}

export function nodeKeySha256(key: string): string {
  return createHash("sha256").update(key, "utf8").digest("hex");
}

export function describeNode(identity: NodeIdentity): string {
  return `node "${identity.node}" of cluster "${identity.cluster}" (hub "${identity.hub}")`;
}

export class NodeCredentials {
  private readonly registrations: { identity: NodeIdentity; digest: Buffer }[];

  constructor(registrations: readonly NodeRegistration[]) {
    this.registrations = registrations.map(({ keySha256, ...identity }) => ({
      identity,
      digest: Buffer.from(keySha256, "hex"),
    }));
  }

  get size(): number {
    return this.registrations.length;
  }

  /** The node a presented key belongs to; every registration is compared, in constant time. */
  identify(presentedKey: string | undefined): NodeIdentity | undefined {
    if (presentedKey === undefined || presentedKey === "") return undefined;
    const digest = createHash("sha256").update(presentedKey, "utf8").digest();
    let found: NodeIdentity | undefined;
    for (const registration of this.registrations) {
      if (timingSafeEqual(digest, registration.digest)) found ??= registration.identity;
    }
    return found;
  }
}
