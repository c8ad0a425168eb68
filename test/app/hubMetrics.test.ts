// The app's hub metrics through the local host: a pod's configuration goes to the simulator through
// the real SDK, and the scraped counters add up to what the simulator itself counted; only the
// host's master key reads them. The status reconcile's configuration reads (every 2 s here) are
// charged to the hub's scheduler entity, whose budget they share.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { SchedulerState } from "../../lib/scheduler/schedulerState.js";
import { eventually } from "../adapter/support/eventually.js";
import { podFixture } from "../provider/providerFixtures.js";
import { hub, keyOf, masterKey, node, startAppHarness, type AppHarness } from "./appHarness.js";

/** The simulator's operations of the hub's configuration class (what the 20-a-minute budget counts). */
const simulatorConfigurationOperations = [
  "getConfigurations",
  "getConfiguration",
  "addOrUpdateConfiguration",
  "removeConfiguration",
  "applyConfigurationContentOnDevice",
];

interface Sample {
  labels: Record<string, string>;
  value: number;
}

/** The samples of one counter in a Prometheus text exposition. */
function samples(text: string, name: string): Sample[] {
  return text
    .split("\n")
    .filter((line) => line.startsWith(`${name}{`))
    .map((line) => {
      const [, labelText = "", value = "0"] = /^[^{]+\{([^}]*)\} (\S+)$/.exec(line) ?? [];
      const labels = Object.fromEntries(
        [...labelText.matchAll(/(\w+)="([^"]*)"/g)].map(([, key, val]) => [key!, val!]),
      );
      return { labels, value: Number(value) };
    });
}

describe("hub metrics through the local host", { timeout: 120_000 }, () => {
  let harness: AppHarness;

  beforeAll(async () => {
    harness = await startAppHarness({ env: { RECONCILE_SCHEDULE: "*/2 * * * * *" } });
  });

  afterAll(async () => {
    await harness?.stop();
  });

  const scrape = (key: string | undefined) =>
    fetch(`${harness.host().url}/api/metrics`, { headers: key ? { "x-functions-key": key } : {} });

  async function scrapedText(): Promise<string> {
    const response = await scrape(masterKey);
    expect(response.status).toBe(200);
    expect(response.headers.get("content-type")).toMatch(/^text\/plain/);
    return response.text();
  }

  async function schedulerState(): Promise<SchedulerState> {
    const response = await fetch(
      `${harness.host().url}/runtime/webhooks/durabletask/entities/hubScheduler/${hub}?code=${masterKey}`,
    );
    expect(response.status).toBe(200);
    return (await response.json()) as SchedulerState;
  }

  it("refuses a caller without a key, and a virtual node's function key: only the host's master key reads it", async () => {
    expect((await scrape(undefined)).status).toBe(401);
    expect((await scrape(keyOf(node))).status).toBe(401);
  });

  it("counts every configuration operation the app sent to the hub, by hub name, operation and outcome", async () => {
    const pod = podFixture({ name: "counted", uid: "uid-counted", container: "counted" });
    expect((await harness.putPod(pod)).ok).toBe(true);
    await eventually(async () => expect((await harness.podStatus("counted")).status.phase).toBe("Running"), {
      attempts: 300,
    });

    await eventually(async () => {
      const text = await scrapedText();
      const requests = samples(text, "connector_hub_requests_total");
      expect(requests.every((sample) => sample.labels["hub"] === hub)).toBe(true);
      expect(requests).toContainEqual({
        labels: { hub, operation: "configuration.create", outcome: "success" },
        value: expect.any(Number),
      });
      const counted = requests
        .filter((sample) => sample.labels["operation"]?.startsWith("configuration."))
        .reduce((sum, sample) => sum + sample.value, 0);
      const { operations } = harness.simulator.stats;
      const sent = simulatorConfigurationOperations.reduce((sum, name) => sum + (operations[name] ?? 0), 0);
      expect(counted).toBe(sent);
      expect(text).not.toContain(harness.simulator.iotHubConnectionString);
      expect(text).not.toContain("SharedAccessKey");
    });
  });

  it("charges the status reconcile's configuration reads to the hub's scheduler", async () => {
    const before = (await schedulerState()).counters.charged ?? 0;
    await harness.host().waitForLine(`status reconcile on ${hub}:`);
    await eventually(async () => {
      const state = await schedulerState();
      expect(state.counters.charged ?? 0).toBeGreaterThan(before);
    });
  });
});
