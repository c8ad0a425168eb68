// Virtual nodes registered with an app on the local host, as Terraform registers them in Azure: a
// random key per node, accepted by the host as a function key (LOCAL_HOST_FUNCTION_KEYS) and known
// to the app by its SHA-256 with the node's hub and cluster (CONNECTOR_NODES).
import { randomBytes } from "node:crypto";
import { appSettingNames } from "../../lib/app/settings.js";
import {
  nodeKeySha256,
  type NodeIdentity,
  type NodeRegistration,
} from "../../lib/provider/nodeCredentials.js";

export interface LocalNode extends NodeIdentity {
  key: string;
}

/** The cluster id local runs use unless told otherwise. */
export const localClusterId = "local";

export function localNodes(
  nodes: readonly { node: string; hub: string; cluster?: string }[],
  cluster = localClusterId,
): LocalNode[] {
  return nodes.map((node) => ({ cluster, ...node, key: randomBytes(24).toString("base64url") }));
}

/** The host's function keys and the app's node registry for these nodes. */
export function localNodeSettings(nodes: readonly LocalNode[]): Record<string, string> {
  const registrations: NodeRegistration[] = nodes.map(({ key, ...identity }) => ({
    ...identity,
    keySha256: nodeKeySha256(key),
  }));
  return {
    LOCAL_HOST_FUNCTION_KEYS: nodes.map((node) => node.key).join(","),
    [appSettingNames.nodes]: JSON.stringify(registrations),
  };
}
