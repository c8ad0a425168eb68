// A fleet status summed over its per-partition parts and the fill's part: counts add up, a
// partition's filled devices are subtracted from what it counts, device lists merge, and the
// version only grows whichever part changes, a configuration leaving a part included.
import { describe, expect, it } from "vitest";
import { additiveOnly, sumFleetStatus, withoutBase, type FleetPartsRow } from "../../lib/status/fleetSum.js";
import type { FleetStatus } from "../../lib/status/statusContract.js";

function part(overrides: Partial<FleetStatus> & { counts: FleetStatus["counts"] }): FleetStatus {
  return {
    configurationId: "c1",
    modules: {},
    failures: [],
    computedAt: "2026-11-25T10:00:00.000Z",
    source: "events",
    version: 1,
    ...overrides,
  };
}

const counts = (targeted: number, applied: number, running: number, failed = 0, offline = 0) => ({
  targeted,
  applied,
  running,
  failed,
  offline,
});

describe("fleet status parts", () => {
  it("adds the parts' counts, module figures and reported counts", () => {
    const rows: FleetPartsRow[] = [
      {
        serial: 4,
        statuses: {
          c1: part({
            counts: counts(3, 3, 2, 1),
            reported: { successful: 3, failed: 0 },
            modules: {
              sensor: { running: 2, restartCount: 5, runningOn: ["dev-3", "dev-1"], overridden: 1 },
            },
            failures: [{ deviceId: "dev-2", module: "sensor", reason: "backoff" }],
            version: 3,
          }),
        },
      },
      {
        serial: 9,
        statuses: {
          c1: part({
            counts: counts(2, 1, 1),
            reported: { successful: 1, failed: 0 },
            modules: { sensor: { running: 1, restartCount: 1, runningOn: ["dev-0"], overridden: 2 } },
            version: 7,
          }),
        },
      },
    ];
    expect(sumFleetStatus("c1", rows)).toMatchObject({
      counts: counts(5, 4, 3, 1),
      reported: { successful: 4, failed: 0 },
      modules: {
        sensor: { running: 3, restartCount: 6, runningOn: ["dev-0", "dev-1", "dev-3"], overridden: 3 },
      },
      failures: [{ deviceId: "dev-2", module: "sensor", reason: "backoff" }],
      version: 10,
    });
    expect(sumFleetStatus("c2", rows)).toBeUndefined();
  });

  it("subtracts a partition's filled devices so that the fill part may go on counting them", () => {
    // dev-1 was filled as applied and not running; its partition now sees it running.
    const fill = additiveOnly(
      part({
        counts: counts(2, 2, 1),
        modules: {
          sensor: {
            running: 1,
            restartCount: 0,
            worst: { deviceId: "dev-1", state: { runtimeStatus: "backoff" } },
          },
        },
      }),
    );
    const seen = part({
      counts: counts(1, 1, 1),
      modules: { sensor: { running: 1, restartCount: 2, runningOn: ["dev-1"] } },
    });
    const filledState = part({
      counts: counts(1, 1, 0),
      modules: { sensor: { running: 0, restartCount: 0 } },
    });
    const partition = withoutBase(seen, filledState);
    expect(partition.counts).toEqual(counts(0, 0, 1));
    const sum = sumFleetStatus("c1", [
      { serial: 1, statuses: { c1: fill } },
      { serial: 1, statuses: { c1: partition } },
    ]);
    expect(sum).toMatchObject({
      counts: counts(2, 2, 2),
      modules: { sensor: { running: 2, restartCount: 2, runningOn: ["dev-1"] } },
    });
    // the fill's device lists are not shown: they may be stale for devices a partition took over
    expect(sum!.modules["sensor"]!.worst).toBeUndefined();
  });

  it("says the target condition its parts were counted for when every row has a part and all agree", () => {
    const stage = "tags.bucket < 34";
    const sum = sumFleetStatus("c1", [
      { serial: 1, statuses: { c1: part({ counts: counts(0, 0, 0), targetCondition: stage }) } },
      { serial: 2, statuses: { c1: part({ counts: counts(0, 0, 0), targetCondition: stage }) } },
    ]);
    expect(sum!.targetCondition).toBe(stage);
  });

  it("says no target condition while a part was counted for another one, or for none said", () => {
    const agreeing = part({ counts: counts(0, 0, 0), targetCondition: "tags.bucket < 34" });
    const previous = part({ counts: counts(0, 0, 0), targetCondition: "tags.bucket < 10" });
    const unsaid = part({ counts: counts(0, 0, 0) });
    for (const other of [previous, unsaid]) {
      const sum = sumFleetStatus("c1", [
        { serial: 1, statuses: { c1: agreeing } },
        { serial: 2, statuses: { c1: other } },
      ]);
      expect(sum!.targetCondition).toBeUndefined();
    }
  });

  it("says no target condition while a row has no part for the configuration yet (its instance has not counted it)", () => {
    const sum = sumFleetStatus("c1", [
      { serial: 1, statuses: { c1: part({ counts: counts(0, 0, 0), targetCondition: "tags.bucket < 34" }) } },
      { serial: 2, statuses: {} },
    ]);
    expect(sum!.targetCondition).toBeUndefined();
  });

  it("never shows a count below zero while parts disagree for a moment", () => {
    const sum = sumFleetStatus("c1", [{ serial: 1, statuses: { c1: part({ counts: counts(-1, -1, 0) }) } }]);
    expect(sum!.counts).toEqual(counts(0, 0, 0));
  });

  it("keeps the version growing when a part changes, when a row writes without changing it, and when the configuration leaves a row", () => {
    const versions: number[] = [];
    const fleet = (rows: FleetPartsRow[]) => versions.push(sumFleetStatus("c1", rows)!.version);
    fleet([
      { serial: 3, statuses: { c1: part({ counts: counts(1, 1, 1), version: 3 }) } },
      { serial: 2, statuses: { c1: part({ counts: counts(1, 1, 1), version: 1 }) } },
    ]);
    // the second row changed its part
    fleet([
      { serial: 3, statuses: { c1: part({ counts: counts(1, 1, 1), version: 3 }) } },
      { serial: 4, statuses: { c1: part({ counts: counts(1, 1, 0), version: 4 }) } },
    ]);
    // the first row wrote for other configurations: c1's sum is the same
    fleet([
      { serial: 8, statuses: { c1: part({ counts: counts(1, 1, 1), version: 3 }) } },
      { serial: 4, statuses: { c1: part({ counts: counts(1, 1, 0), version: 4 }) } },
    ]);
    // the second row no longer has c1 (its instance saw the configuration go first)
    fleet([
      { serial: 8, statuses: { c1: part({ counts: counts(1, 1, 1), version: 3 }) } },
      { serial: 5, statuses: {} },
    ]);
    expect(versions).toEqual([4, 7, 7, 8]);
  });
});
