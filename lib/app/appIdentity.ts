// The app's one credential for every identity-based connection (storage, hubs): its managed identity,
// as the Functions host's own identity-based connections use. ManagedIdentityCredential rather than
// DefaultAzureCredential: in Azure there is nothing else to try, and a chain would pick up stray
// environment credentials (a service principal's secret, a developer's CLI login) and fail slower
// and less clearly when the identity is missing. A user-assigned identity is chosen by AZURE_CLIENT_ID.
import type { TokenCredential } from "@azure/core-auth";
import { ManagedIdentityCredential } from "@azure/identity";
import { clientIdSetting } from "./identityConnection.js";

type Environment = Readonly<Record<string, string | undefined>>;

export function appCredential(env: Environment = process.env): TokenCredential {
  const clientId = env[clientIdSetting] || undefined;
  return clientId === undefined
    ? new ManagedIdentityCredential()
    : new ManagedIdentityCredential({ clientId });
}
