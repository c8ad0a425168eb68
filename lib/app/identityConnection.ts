// The Functions identity-based connection convention (`<CONNECTION>__<property>` app settings) as far
// as the app follows it: the credential is always the app's managed identity, and the app signs in
// as one identity (AZURE_CLIENT_ID for a user-assigned one), so a connection may only repeat it.
type Environment = Readonly<Record<string, string | undefined>>;
type Problems = { setting: string; reason: string }[];

/** The environment variable @azure/identity reads a user-assigned identity's client id from. */
export const clientIdSetting = "AZURE_CLIENT_ID";

/** Checks `<connection>__credential` and `<connection>__clientId`; returns the client id if any. */
export function checkIdentityProperties(
  env: Environment,
  connection: string,
  problems: Problems,
): string | undefined {
  const credential = env[`${connection}__credential`];
  if (credential && credential.toLowerCase() !== "managedidentity")
    problems.push({ setting: `${connection}__credential`, reason: "must be managedidentity" });
  const clientId = env[`${connection}__clientId`] || undefined;
  if (clientId !== undefined && clientId !== env[clientIdSetting])
    problems.push({
      setting: `${connection}__clientId`,
      reason: `must equal ${clientIdSetting} (the app signs in as one identity)`,
    });
  return clientId;
}

/** A host name setting (IoT Hub, Event Hubs namespace): `host` or `host:port`, never a URL. */
export function checkHostName(value: string, setting: string, problems: Problems): void {
  if (!/^[a-z0-9.-]+(:\d{1,5})?$/i.test(value))
    problems.push({ setting, reason: "must be a host name (host[:port]), not a URL" });
}
