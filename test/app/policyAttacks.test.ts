// The attack corpus (test/policy/attacks) through the provider API on the local host, as an
// adapter without a policy of its own would send it: the app alone enforces the fleet policy
// (FLEET_POLICY), and every hostile pod ends Failed with its reason and the fields named, with
// nothing on the hub; every widening target condition reaches the hub narrowed to the scopes.
import { readFileSync } from "node:fs";
import type { V1Pod } from "@kubernetes/client-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { ProviderPodStatus } from "../../lib/provider/providerContract.js";
import { parseWorkloadDocuments } from "../../lib/translate/workloadDocuments.js";
import { eventually } from "../support/testSimulator.js";
import {
  attackCases,
  attackNode,
  attackPolicyFile,
  sharedCollectorText,
  type AttackCase,
} from "../policy/attackCorpus.js";
import { hub, keyOf, startAppHarness, type AppHarness } from "./appHarness.js";

const cases = attackCases();

describe("the attack corpus through the provider API", { timeout: 240_000 }, () => {
  let harness: AppHarness;
  const finals = new Map<string, ProviderPodStatus>();

  async function put(text: string, uid: string): Promise<{ namespace: string; name: string }> {
    const documents = parseWorkloadDocuments(text);
    const pod: V1Pod = structuredClone(documents.pods[0]!.pod);
    const { namespace = "default", name = "" } = pod.metadata ?? {};
    pod.metadata = { ...pod.metadata, uid };
    const response = await harness.call(
      `${hub}/namespaces/${namespace}/pods/${name}`,
      {
        method: "PUT",
        body: JSON.stringify({ node: attackNode, pod, resolved: documents.references(namespace) }),
      },
      keyOf(attackNode),
    );
    expect(response.status, await response.clone().text()).toBe(201);
    return { namespace, name };
  }

  const status = async (namespace: string, name: string) =>
    (await (
      await harness.call(`${hub}/namespaces/${namespace}/pods/${name}/status`, {}, keyOf(attackNode))
    ).json()) as ProviderPodStatus;
  const onHub = (s: ProviderPodStatus) =>
    s.status.conditions?.some((c) => c.type === "PodScheduled" && c.status === "True") === true;
  const settled = (s: ProviderPodStatus) => s.status.phase === "Failed" || onHub(s);

  beforeAll(async () => {
    harness = await startAppHarness({ env: { FLEET_POLICY: readFileSync(attackPolicyFile, "utf8") } });
    // What is on the hub first: the app's base deployment (route "upstream") and shared/collector.
    const collector = await put(sharedCollectorText(), "uid-collector");
    await eventually(() => status(collector.namespace, collector.name), onHub, {
      attempts: 600,
      intervalMs: 100,
    });
    await eventually(
      () => harness.hubClient.listConfigurations(),
      (all) => all.some((c) => c.labels?.["k8s-namespace"] === "iot-edge-connector"),
      { attempts: 600, intervalMs: 100 },
    );
    const submitted = await Promise.all(
      cases.map(async (attack) => ({ attack, pod: await put(attack.text, `uid-${attack.name}`) })),
    );
    await Promise.all(
      submitted.map(async ({ attack, pod }) =>
        finals.set(
          attack.name,
          await eventually(() => status(pod.namespace, pod.name), settled, {
            attempts: 1200,
            intervalMs: 150,
          }),
        ),
      ),
    );
  });

  afterAll(async () => {
    await harness?.stop();
  });

  it.each(cases)("$name", async ({ name, expected }: AttackCase) => {
    const final = finals.get(name)!;
    if ("targetCondition" in expected) {
      expect(final.status.phase, final.status.message).not.toBe("Failed");
      const configuration = (await harness.hubClient.listConfigurations()).find(
        (c) => c.id === final.configurationId,
      );
      expect(configuration?.targetCondition).toBe(expected.targetCondition);
      return;
    }
    expect(final.status.phase).toBe("Failed");
    expect(final.status.reason, final.status.message).toBe(expected.reason);
    for (const field of expected.fields) expect(final.status.message).toContain(`${field}: `);
    // refused before the hub: no configuration of this pod exists there
    expect(final.configurationId === undefined || expected.hubOnly === true).toBe(true);
    const workloads = (await harness.hubClient.listConfigurations()).map((c) => c.labels?.["k8s-workload"]);
    expect(workloads).not.toContain(name);
  });
});
