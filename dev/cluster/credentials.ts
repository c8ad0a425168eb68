// Identities of a test control plane: a static token file for the apiserver and one kubeconfig
// per identity. Tokens are random per run and written only to files in the run directory.
import { randomBytes } from "node:crypto";
import { readFile, writeFile } from "node:fs/promises";
import path from "node:path";
import { stringify } from "yaml";

export interface Identity {
  user: string;
  groups: string[];
}

export interface Credential {
  token: string;
  kubeconfigPath: string;
}

/** The users the default RBAC policy already binds the control-plane components to. */
export const CONTROL_PLANE_IDENTITIES = {
  admin: { user: "test-admin", groups: ["system:masters"] },
  controllerManager: { user: "system:kube-controller-manager", groups: [] },
  scheduler: { user: "system:kube-scheduler", groups: [] },
} satisfies Record<string, Identity>;

/** The identity the Node authorizer expects from the kubelet of node `nodeName`. */
export function nodeIdentity(nodeName: string): Identity {
  return { user: `system:node:${nodeName}`, groups: ["system:nodes"] };
}

function csvField(value: string): string {
  return `"${value.replaceAll('"', '""')}"`;
}

/**
 * Writes the apiserver's --token-auth-file (token,user,uid,"group1,group2") and a kubeconfig per
 * identity, and returns each identity's credential under the same key.
 */
export async function writeCredentials<Name extends string>(
  dir: string,
  server: string,
  caCertPath: string,
  identities: Record<Name, Identity>,
): Promise<{ tokenFilePath: string; credentials: Record<Name, Credential> }> {
  const caData = (await readFile(caCertPath)).toString("base64");
  const credentials = {} as Record<Name, Credential>;
  const tokenLines: string[] = [];
  for (const [name, identity] of Object.entries(identities) as [Name, Identity][]) {
    const token = randomBytes(24).toString("hex");
    const kubeconfigPath = path.join(dir, `${name.replaceAll(/[^A-Za-z0-9.-]/g, "_")}.kubeconfig`);
    await writeFile(kubeconfigPath, kubeconfig(server, caData, identity.user, token), { mode: 0o600 });
    tokenLines.push([token, identity.user, identity.user, csvField(identity.groups.join(","))].join(","));
    credentials[name] = { token, kubeconfigPath };
  }
  const tokenFilePath = path.join(dir, "tokens.csv");
  await writeFile(tokenFilePath, tokenLines.join("\n") + "\n", { mode: 0o600 });
  return { tokenFilePath, credentials };
}

function kubeconfig(server: string, caData: string, user: string, token: string): string {
  return stringify({
    apiVersion: "v1",
    kind: "Config",
    clusters: [{ name: "test", cluster: { server, "certificate-authority-data": caData } }],
    users: [{ name: user, user: { token } }],
    contexts: [{ name: "test", context: { cluster: "test", user } }],
    "current-context": "test",
  });
}
