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
type Entry = z.infer<typeof entrySchema>;

/** The registry host as IoT Edge wants it: no scheme, no path ("https://index.docker.io/v1/" → "index.docker.io"). */
export function registryAddress(server: string): string {
  return server.replace(/^[a-z]+:\/\//i, "").replace(/\/.*$/, "");
}

/** A credential name IoT Edge accepts (no '.', '$', '#' or spaces): "myacr.azurecr.io" → "myacr-azurecr-io". */
export function credentialName(address: string): string {
  return address.replace(/[^A-Za-z0-9_-]/g, "-");
}

function decodeEntry(entry: Entry): { username: string; password: string } | undefined {
  if (entry.username !== undefined && entry.password !== undefined) {
    return { username: entry.username, password: entry.password };
  }
  if (entry.auth === undefined) return undefined;
  const decoded = Buffer.from(entry.auth, "base64").toString("utf8");
  const colon = decoded.indexOf(":");
  return colon < 0 ? undefined : { username: decoded.slice(0, colon), password: decoded.slice(colon + 1) };
}

/** The registry entries of a pull Secret, or why there are none. */
function pullSecretEntries(resolved: ResolvedReferences, name: string): Record<string, Entry> | string {
  const json = secretKey(resolved, name, ".dockerconfigjson");
  const cfg = json.found ? undefined : secretKey(resolved, name, ".dockercfg");
  if (!json.found && !cfg?.found) {
    return json.reason.includes("was not found")
      ? json.reason
      : `Secret "${name}" has neither .dockerconfigjson nor .dockercfg (type kubernetes.io/dockerconfigjson)`;
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(json.found ? json.value : cfg?.found ? cfg.value : "");
  } catch {
    return `Secret "${name}" does not hold valid Docker config JSON`;
  }
  const invalid = `Secret "${name}" does not hold Docker config JSON (registries with username and password)`;
  if (json.found) {
    const config = dockerConfigJson.safeParse(parsed);
    return config.success ? config.data.auths : invalid;
  }
  const legacy = dockerCfg.safeParse(parsed);
  return legacy.success ? legacy.data : invalid;
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
    const entries = pullSecretEntries(resolved, name);
    if (typeof entries === "string") {
      findings.refuse(field, entries);
      return;
    }
    for (const [server, entry] of Object.entries(entries)) {
      const login = decodeEntry(entry);
      const address = registryAddress(server);
      if (!login || address === "") {
        findings.refuse(field, `Secret "${name}" has no username and password for registry "${address}"`);
        continue;
      }
      credentials[credentialName(address)] = { ...login, address };
    }
  });
  return credentials;
}
