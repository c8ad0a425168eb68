// The app with no key anywhere in its settings, run by the local host as Azure runs it with a managed
// identity: AzureWebJobsStorage__*ServiceUri (Azurite in OAuth mode), HUB_<NAME>_HOSTNAME and
// HUB_<NAME>_EVENTS_CONNECTION__fullyQualifiedNamespace, every token from the App Service identity
// endpoint through the real ManagedIdentityCredential. The smallest path that shows it: provider API
// → hub configuration → twin change events → pod status Running.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { eventually } from "../support/testSimulator.js";
import { podFixture } from "../provider/providerFixtures.js";
import { startAppHarness, type AppHarness } from "./appHarness.js";

describe("the app by its managed identity", { timeout: 150_000 }, () => {
  let harness: AppHarness;

  beforeAll(async () => {
    harness = await startAppHarness({ identity: true });
  }, 90_000);

  afterAll(async () => {
    await harness?.stop();
  });

  it("has no key in its settings and still gets a pod to Running", async () => {
    const settings = harness.appSettings;
    expect(Object.keys(settings)).not.toContain("AzureWebJobsStorage");
    expect(JSON.stringify(settings)).not.toMatch(/AccountKey|SharedAccessKey/);
    const pod = podFixture({ name: "by-identity", uid: "uid-by-identity", container: "by-identity" });
    expect((await harness.putPod(pod)).status).toBe(201);
    const status = await eventually(
      () => harness.podStatus("by-identity"),
      (s) => s.status.phase === "Running" && s.fleet.running === 3,
      { attempts: 900, intervalMs: 100 },
    );
    expect(status.fleet).toMatchObject({ targeted: 3, applied: 3, running: 3 });
  });
});
