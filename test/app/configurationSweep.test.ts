// The configuration sweep in the local host with the app's own registrations (timer every 2 s):
// a pod whose orchestration ended before its first record still holds its configuration; the sweep
// releases it and the hub loses it (grace 0), while a healthy pod's configuration stays.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { podInstanceId } from "../../lib/provider/podIdentity.js";
import { PodRecords } from "../../lib/provider/podRecords.js";
import { eventually } from "../adapter/support/eventually.js";
import { podFixture } from "../provider/providerFixtures.js";
import { hub, masterKey, startAppHarness, type AppHarness } from "./appHarness.js";

describe("configuration sweep through the local host", { timeout: 240_000 }, () => {
  let harness: AppHarness;

  beforeAll(async () => {
    harness = await startAppHarness({ env: { RECONCILE_SCHEDULE: "*/2 * * * * *" } });
  });

  afterAll(async () => {
    await harness?.stop();
  });

  const onHub = async () => (await harness.hubClient.listConfigurations()).map((c) => c.id);
  // Until the record says the deployment is on the hub (PodScheduled), the orchestration still has a
  // record write on its way, which would bring back the record the test removes below.
  const deployed = (name: string) =>
    eventually(async () => {
      const status = await harness.podStatus(name);
      expect(status.configurationId).toBeDefined();
      expect(status.status.conditions?.find((c) => c.type === "PodScheduled")?.status).toBe("True");
      expect(await onHub()).toContain(status.configurationId);
      return status;
    });

  it("releases the configuration of a pod whose orchestration ended before its first record, and keeps a healthy pod's", async () => {
    const leaky = podFixture({ name: "leaky", uid: "uid-leaky", container: "leaky" });
    const kept = podFixture({ name: "kept", uid: "uid-kept", container: "kept" });
    expect((await harness.putPod(leaky)).ok).toBe(true);
    expect((await harness.putPod(kept)).ok).toBe(true);
    const leaked = (await deployed("leaky")).configurationId;
    const healthy = (await deployed("kept")).configurationId;

    // The orchestration ends and its record is as if never written: only the scheduler's hold is left.
    const pod = { hub, namespace: "default", name: "leaky", uid: "uid-leaky" };
    const terminated = await fetch(
      `${harness.host().url}/runtime/webhooks/durabletask/instances/${podInstanceId(pod)}/terminate?reason=test&code=${masterKey}`,
      { method: "POST" },
    );
    expect(terminated.status).toBe(202);
    await PodRecords.fromConnectionString(harness.storageConnectionString).remove(pod);

    // a bound, not a measure: on a loaded machine the local host's terminate and sweep took over 30 s
    await eventually(async () => expect(await onHub()).not.toContain(leaked), {
      attempts: 450,
      intervalMs: 200,
    });
    expect(await onHub()).toContain(healthy);
    await harness.host().waitForLine(`default/leaky/uid-leaky on ${leaked}`);
    expect(harness.host().output.some((line) => line.includes("default/kept/uid-kept on"))).toBe(false);
  });
});
