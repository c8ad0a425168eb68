// The hub client's managed-identity path: the real azure-iothub SDK with a TokenCredential
// (Registry.fromTokenCredential's configuration, `Authorization: Bearer`) against the simulator, which
// trusts one local token issuer and refuses every other token with 401.
import { readFileSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { LocalTokenIssuer } from "../../dev/simulator/localTokenIssuer.js";
import type { RunningSimulator } from "../../dev/simulator/simulator.js";
import { createHubClient } from "../../lib/hub/createHubClient.js";
import { HubUnauthorizedError } from "../../lib/hub/hubErrors.js";
import { startTestSimulator } from "../support/testSimulator.js";
import temperatureSensor from "./fixtures/temperature-sensor-deployment.json" with { type: "json" };

describe("hub client with a managed identity (bearer tokens)", () => {
  const trusted = new LocalTokenIssuer();
  let sim: RunningSimulator;
  let trustedCa: string;

  beforeAll(async () => {
    sim = await startTestSimulator({
      trustedTokenIssuers: [trusted],
      devices: [{ deviceId: "edge-1", tags: { env: "prod" } }],
    });
    trustedCa = readFileSync(sim.caCertPath, "utf8");
  });
  afterAll(async () => {
    await sim?.stop();
  });

  const client = (credential = trusted.credential()) =>
    createHubClient({ hostName: sim.host, credential }, { trustedCa, retry: { maxAttempts: 1 } });

  it("deploys and reads the hub with tokens from the issuer the hub trusts", async () => {
    const hub = client();
    try {
      const created = await hub.createConfiguration({
        id: "identity-path",
        content: temperatureSensor,
        targetCondition: "tags.env='prod'",
        priority: 10,
      });
      expect(created.id).toBe("identity-path");
      expect((await hub.listConfigurations()).map((c) => c.id)).toContain("identity-path");
      expect((await hub.getDeviceTwin("edge-1")).tags).toEqual({ env: "prod" });
    } finally {
      hub.close();
    }
  });

  it("is refused with 401 for a token from an issuer the hub does not trust, without the token in the error", async () => {
    const stranger = new LocalTokenIssuer(trusted.issuer); // same name, another key
    const credential = stranger.credential();
    const token = (await credential.getToken("https://iothubs.azure.net/.default")).token;
    const hub = client(credential);
    const error = await hub.listConfigurations().catch((caught: unknown) => caught);
    hub.close();
    expect(error).toBeInstanceOf(HubUnauthorizedError);
    expect(String(error)).toMatch(/unauthorized/i);
    expect(JSON.stringify(error) + String(error)).not.toContain(token);
  });

  it("is refused with 401 for a trusted issuer's token meant for another audience", async () => {
    const hub = client({ getToken: () => Promise.resolve(trusted.issue("https://storage.azure.com")) });
    const error = await hub.listConfigurations().catch((caught: unknown) => caught);
    hub.close();
    expect(error).toBeInstanceOf(HubUnauthorizedError);
  });

  it("still accepts the hub's shared access policy", async () => {
    const hub = createHubClient(sim.iotHubConnectionString, { trustedCa });
    try {
      expect((await hub.listConfigurations()).map((c) => c.id)).toContain("identity-path");
    } finally {
      hub.close();
    }
  });
});
