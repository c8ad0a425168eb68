// Registry credentials for edgeAgent from the pod's imagePullSecrets: Secrets of type
// kubernetes.io/dockerconfigjson (`.dockerconfigjson`: {"auths": {server: {...}}}) or the older
// kubernetes.io/dockercfg (`.dockercfg`: {server: {...}}). A refusal names the Secret and the
// key, never a value.
import type { V1LocalObjectReference } from "@kubernetes/client-node";
import { z } from "zod";
import type { RegistryCredential } from "./deploymentTypes.js";
import type { Findings } from "./podErrors.js";
import type { ResolvedReferences } from "./resolvedReferences.js";
import { secretKey } from "./resolvedReferences.js";

const entrySchema = z.object({
  username: z.string().optional(),
  password: z.string().optional(),
  auth: z.string().optional(),
});
const dockerConfigJson = z.object({ auths: z.record(z.string(), entrySchema) });
const dockerCfg = z.record(z.string(), entrySchema);

/** The registry host as IoT Edge wants it: no scheme, no path ("https://index.docker.io/v1/" → "index.docker.io"). */
export function registryAddress(server: string): string {
  return server.replace(/^[a-z]+:\/\//i, "").replace(/\/.*$/, "");
}

/** A credential name IoT Edge accepts (no '.', '$', '#' or spaces): "myacr.azurecr.io" → "myacr-azurecr-io". */
export function credentialName(address: string): string {
  return address.replace(/[^A-Za-z0-9_-]/g, "-");
}

function decodeEntry(entry: z.infer<typeof entrySchema>): { username: string; password: string } | undefined {
  if (entry.username !== undefined && entry.password !== undefined) {
    return { username: entry.username, password: entry.password };
  }
  if (entry.auth === undefined) return undefined;
  const decoded = Buffer.from(entry.auth, "base64").toString("utf8");
  const colon = decoded.indexOf(":");
  return colon < 0 ? undefined : { username: decoded.slice(0, colon), password: decoded.slice(colon + 1) };
}

export function registryCredentialsFromPullSecrets(
  pullSecrets: readonly V1LocalObjectReference[],
  resolved: ResolvedReferences,
  findings: Findings,
): Record<string, RegistryCredential> {
  const credentials: Record<string, RegistryCredential> = {};
  pullSecrets.forEach((reference, index) => {
    const field = `spec.imagePullSecrets[${index}]`;
    const name = reference.name ?? "";
    const json = secretKey(resolved, name, ".dockerconfigjson");
    const cfg = json.found ? undefined : secretKey(resolved, name, ".dockercfg");
    const text = json.found ? json.value : cfg?.found ? cfg.value : undefined;
    if (text === undefined) {
      const missing = json.found ? "" : json.reason;
      findings.refuse(
        field,
        missing.includes("was not found")
          ? missing
          : `Secret "${name}" has neither .dockerconfigjson nor .dockercfg (type kubernetes.io/dockerconfigjson)`,
      );
      return;
    }
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch {
      findings.refuse(field, `Secret "${name}" does not hold valid Docker config JSON`);
      return;
    }
    const result = json.found ? dockerConfigJson.safeParse(parsed) : dockerCfg.safeParse(parsed);
    if (!result.success) {
      findings.refuse(field, `Secret "${name}" does not hold Docker config JSON ("auths" by registry)`);
      return;
    }
    const auths =
      "auths" in result.data
        ? (result.data.auths as Record<string, z.infer<typeof entrySchema>>)
        : result.data;
    for (const [server, entry] of Object.entries(auths)) {
      const login = decodeEntry(entry);
      const address = registryAddress(server);
      if (!login || address === "") {
        findings.refuse(
          field,
          `Secret "${name}" has no username and password for registry entry "${address}"`,
        );
        continue;
      }
      credentials[credentialName(address)] = { ...login, address };
    }
  });
  return credentials;
}
