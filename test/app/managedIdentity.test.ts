// The app's managed identity end to end in one process: @azure/identity's real
// ManagedIdentityCredential gets tokens over the App Service protocol from a local endpoint, and the
// app's tables (Azurite in OAuth mode, HTTPS) and its hub (the simulator, which trusts one issuer)
// accept them; an identity signed by an issuer nobody trusts, or a token for another audience, is refused.
import { getCACertificates, setDefaultCACertificates } from "node:tls";
import { EventHubConsumerClient } from "@azure/event-hubs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startLocalAzurite, type LocalAzurite } from "../../dev/localAzurite.js";
import { ensureLocalCa } from "../../dev/simulator/certificates.js";
import { LocalTokenIssuer } from "../../dev/simulator/localTokenIssuer.js";
import {
  startManagedIdentityEndpoint,
  type ManagedIdentityEndpoint,
} from "../../dev/simulator/managedIdentityEndpoint.js";
import type { RunningSimulator } from "../../dev/simulator/simulator.js";
import { appCredential } from "../../lib/app/appIdentity.js";
import { ConnectorApp } from "../../lib/app/connectorApp.js";
import { HubUnauthorizedError } from "../../lib/hub/hubErrors.js";
import { LazyTable } from "../../lib/storage/lazyTable.js";
import { startTestSimulator } from "../support/testSimulator.js";
import temperatureSensor from "../hub/fixtures/temperature-sensor-deployment.json" with { type: "json" };

// Azurite accepts only Entra-looking issuers; the simulator trusts this one by its key.
const tenantIssuer = new LocalTokenIssuer("https://sts.windows.net/00000000-0000-4000-8000-00000000cafe/");
const strangerIssuer = new LocalTokenIssuer("https://login.local.test/stranger/v2.0");
const strangerClientId = "5e1f0000-0000-4000-8000-00000000beef";

describe("the app's managed identity against local storage and a local hub", () => {
  let sim: RunningSimulator;
  let azurite: LocalAzurite;
  let identity: ManagedIdentityEndpoint;
  let settings: Record<string, string>;

  beforeAll(async () => {
    const ca = await ensureLocalCa();
    // Trusted in this process as NODE_EXTRA_CA_CERTS would make it trusted in a child.
    setDefaultCACertificates([...getCACertificates("default"), ca.certPem]);
    [sim, azurite, identity] = await Promise.all([
      startTestSimulator({ trustedTokenIssuers: [tenantIssuer] }),
      startLocalAzurite({ inMemory: true, oauth: { ca } }),
      startManagedIdentityEndpoint({
        issuer: tenantIssuer,
        userAssigned: { [strangerClientId]: strangerIssuer },
      }),
    ]);
    Object.assign(process.env, identity.environment);
    settings = {
      AzureWebJobsStorage__blobServiceUri: azurite.serviceUris.blob,
      AzureWebJobsStorage__queueServiceUri: azurite.serviceUris.queue,
      AzureWebJobsStorage__tableServiceUri: azurite.serviceUris.table,
      CONNECTOR_HUBS: "hub-a",
      HUB_HUB_A_HOSTNAME: sim.host,
      HUB_HUB_A_EVENTS_CONNECTION__fullyQualifiedNamespace: sim.eventHubNamespace!,
      HUB_HUB_A_EVENTS_NAME: sim.hubName,
    };
  }, 60_000);
  afterAll(async () => {
    await Promise.all([sim?.stop(), azurite?.stop(), identity?.stop()]);
  });

  it("reaches its tables and its hub with settings that hold no key", async () => {
    expect(JSON.stringify(settings)).not.toMatch(/AccountKey|SharedAccessKey/);
    const app = ConnectorApp.fromEnvironment(settings);
    expect(await app.records.listHub("hub-a")).toEqual([]);
    expect(await app.statusStore.deviceCounts("hub-a")).toBeUndefined();
    const created = await app.hubClient("hub-a").createConfiguration({
      id: "by-identity",
      content: temperatureSensor,
      targetCondition: "*",
      priority: 1,
    });
    expect(created.id).toBe("by-identity");
    app.hubClient("hub-a").close();
  });

  it("is refused by the hub (401) and by storage (403) as a user-assigned identity whose issuer neither trusts", async () => {
    const app = ConnectorApp.fromEnvironment({ ...settings, AZURE_CLIENT_ID: strangerClientId });
    const hubError = await app
      .hubClient("hub-a")
      .listConfigurations()
      .catch((error: unknown) => error);
    app.hubClient("hub-a").close();
    expect(hubError).toBeInstanceOf(HubUnauthorizedError);
    const storageError = await app.records.listHub("hub-a").catch((error: unknown) => error);
    expect(storageError).toMatchObject({
      statusCode: 403,
      message: expect.stringContaining("Invalid token issuer") as unknown,
    });
  });

  it("is refused by storage for a trusted issuer's token meant for the hub", async () => {
    const wrongAudience = {
      getToken: () => Promise.resolve(tenantIssuer.issue("https://iothubs.azure.net")),
    };
    const table = LazyTable.forStorage(
      { kind: "identity", serviceUris: azurite.serviceUris },
      "wrongaudience",
      wrongAudience,
    );
    await expect(table.client()).rejects.toMatchObject({
      statusCode: 403,
      message: expect.stringContaining("Invalid token audience") as unknown,
    });
  });

  it("reads the built-in endpoint as a namespace with the identity's jwt, and is refused with an untrusted one", async () => {
    const read = async (credential = appCredential({})) => {
      const client = new EventHubConsumerClient("$Default", sim.eventHubNamespace!, sim.hubName, credential, {
        retryOptions: { maxRetries: 0, timeoutInMs: 10_000 },
      });
      try {
        return await client.getPartitionIds();
      } finally {
        await client.close();
      }
    };
    expect((await read()).length).toBeGreaterThan(0);
    const refused = await read(appCredential({ AZURE_CLIENT_ID: strangerClientId })).catch(
      (error: unknown) => error,
    );
    expect(String(refused)).toMatch(/issuer this hub does not trust/);
  });

  it("gets no token from the identity endpoint without its secret header, as on App Service", async () => {
    const url = `${identity.environment.IDENTITY_ENDPOINT}?api-version=2019-08-01&resource=https://storage.azure.com`;
    expect((await fetch(url)).status).toBe(401);
    expect((await fetch(url, { headers: { "X-IDENTITY-HEADER": "guessed" } })).status).toBe(401);
    const answer = await fetch(url, {
      headers: { "X-IDENTITY-HEADER": identity.environment.IDENTITY_HEADER },
    });
    expect(answer.status).toBe(200);
  });
});
