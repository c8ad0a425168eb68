// A host that stops while a pod's orchestration is under way: the next host on the same storage
// finishes it from the stored history, and the hub ends with exactly one configuration for the pod.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { connectorLabels } from "../../lib/translate/podToDeployment.js";
import { eventually } from "../support/testSimulator.js";
import { podFixture } from "../provider/providerFixtures.js";
import { startAppHarness, type AppHarness } from "./appHarness.js";

describe("pod orchestration across a host restart", { timeout: 150_000 }, () => {
  let harness: AppHarness;

  beforeAll(async () => {
    harness = await startAppHarness();
  });

  afterAll(async () => {
    await harness?.stop();
  });

  it("a pod accepted just before the host stops is deployed once by the next host", async () => {
    const pod = podFixture({ name: "restarted", uid: "uid-restarted", container: "restarted" });
    expect((await harness.putPod(pod)).status).toBe(201);
    await harness.restartHost();
    const status = await eventually(
      () => harness.podStatus("restarted"),
      (s) => s.status.conditions?.some((c) => c.type === "PodScheduled" && c.status === "True") === true,
      { attempts: 900, intervalMs: 100 },
    );
    const mine = (await harness.hubClient.listConfigurations()).filter(
      (configuration) => configuration.labels?.[connectorLabels.workload] === "restarted",
    );
    expect(mine.map((configuration) => configuration.id)).toEqual([status.configurationId]);
  });
});
