// The cheap check a held node list makes (PodRecords.changedSince), against Azurite: it must see
// every write to one of the node's pods, and nothing else, so that a quiet node's wait never reads
// its list again.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startLocalAzurite, type LocalAzurite } from "../../dev/localAzurite.js";
import { PodRecords, type PodRecord } from "../../lib/provider/podRecords.js";

const HUB = "hub1";

function record(
  name: string,
  node = "node-a",
  cluster = "cluster-a",
): Omit<PodRecord, "version" | "updatedAt"> {
  return {
    hub: HUB,
    node,
    cluster,
    namespace: "default",
    name,
    uid: `uid-${name}`,
    lifecycle: { stage: "Accepted" },
    containers: [{ name: "sensor", image: "sensor:1" }],
    specHash: "spec",
  };
}

describe("a node list's change mark", () => {
  let azurite: LocalAzurite;
  let records: PodRecords;
  const mark = async () => (await records.listNodeMarked(HUB, "node-a", "cluster-a")).mark;
  const changed = async (since: Awaited<ReturnType<typeof mark>>) =>
    records.changedSince(HUB, "node-a", "cluster-a", since);

  beforeAll(async () => {
    azurite = await startLocalAzurite({ inMemory: true });
    records = PodRecords.fromConnectionString(azurite.connectionString);
  });
  afterAll(() => azurite?.stop());

  it("sees the first pod of an empty node", async () => {
    const empty = await mark();
    expect(await changed(empty)).toBe(false);
    await records.createIfAbsent(record("first"), new Date());
    expect(await changed(empty)).toBe(true);
  });

  it("sees nothing while nothing of the node changes, even when the latest rows were written in the same instant", async () => {
    await Promise.all(["second", "third"].map((name) => records.createIfAbsent(record(name), new Date())));
    const quiet = await mark();
    expect(await changed(quiet)).toBe(false);
    expect(await changed(quiet)).toBe(false);
  });

  it("sees a rewrite of one of the node's pods", async () => {
    const before = await mark();
    await records.update(
      record("first"),
      (current) => ({ ...current, lifecycle: { stage: "Deleting" } }),
      new Date(),
    );
    expect(await changed(before)).toBe(true);
  });

  it("does not see another node's pods, nor a pod of the same node name in another cluster", async () => {
    const before = await mark();
    await records.createIfAbsent(record("elsewhere", "node-b"), new Date());
    await records.createIfAbsent(record("other-cluster", "node-a", "cluster-b"), new Date());
    expect(await changed(before)).toBe(false);
  });
});
