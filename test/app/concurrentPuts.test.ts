// Pods PUT at the same moment to a fresh app (nothing in storage, no durable instance yet): the
// adapter sends a node's pods in parallel on start, and each one must be accepted the first time.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { V1Pod } from "@kubernetes/client-node";
import type { ProviderError, ProviderPodStatus } from "../../lib/provider/providerContract.js";
import { podFixture } from "../provider/providerFixtures.js";
import { startAppHarness, type AppHarness } from "./appHarness.js";

function replica(n: number): V1Pod {
  const pod = podFixture({ name: `web-7d9f-${n}`, uid: `uid-web-${n}`, container: "web" });
  pod.metadata!.ownerReferences = [
    { apiVersion: "apps/v1", kind: "ReplicaSet", name: "web-7d9f", uid: "uid-rs-web", controller: true },
  ];
  return pod;
}

describe("concurrent first PUTs to a fresh app", { timeout: 120_000 }, () => {
  let harness: AppHarness;

  beforeAll(async () => {
    harness = await startAppHarness();
  });

  afterAll(async () => {
    await harness?.stop();
  });

  it("accepts distinct pods and replicas of one workload sent at the same moment, each 201, and a repeat 200", async () => {
    const pods = [
      ...[1, 2, 3].map((n) => podFixture({ name: `solo-${n}`, uid: `uid-solo-${n}`, container: `solo${n}` })),
      ...[1, 2, 3].map(replica),
    ];
    const answers = await Promise.all(
      pods.map(async (pod) => {
        const response = await harness.putPod(pod);
        return {
          name: pod.metadata!.name,
          status: response.status,
          body: await response.json(),
        };
      }),
    );
    // the whole answer on failure, so the error body shows what went wrong
    expect(answers.filter((answer) => answer.status !== 201)).toEqual([]);
    for (const answer of answers) expect((answer.body as ProviderPodStatus).name).toBe(answer.name);

    const repeats = await Promise.all(pods.map((pod) => harness.putPod(pod)));
    expect(repeats.map((response) => response.status)).toEqual(pods.map(() => 200));
  });

  it("the same pod PUT several times at once is accepted once (201) and otherwise answered 200", async () => {
    const pod = podFixture({ name: "eager", uid: "uid-eager", container: "eager" });
    const responses = await Promise.all([1, 2, 3, 4].map(() => harness.putPod(pod)));
    const statuses = responses.map((response) => response.status);
    const errors = await Promise.all(
      responses
        .filter((response) => response.status >= 400)
        .map(async (response) => ((await response.json()) as ProviderError).error),
    );
    expect(errors).toEqual([]);
    expect(statuses.filter((status) => status === 201).length).toBeGreaterThanOrEqual(1);
    expect(statuses.every((status) => status === 200 || status === 201)).toBe(true);
  });
});
