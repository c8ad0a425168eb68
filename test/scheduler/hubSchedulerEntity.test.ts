// The scheduler entity run by durable-functions' own entity runtime over batches of operations, as
// the Durable extension passes them: state in, state and results out.
import { describe, expect, it } from "vitest";
import type { ApplierWork, DemandResult } from "../../lib/scheduler/applierProtocol.js";
import { hubBudget } from "../../lib/scheduler/hubBudget.js";
import { createHubSchedulerEntity } from "../../lib/scheduler/hubSchedulerEntity.js";
import type { SchedulerSettings, SchedulerState } from "../../lib/scheduler/schedulerState.js";
import { runEntity } from "../support/replay.js";
import { replicaWants } from "./replicaPods.js";

const now = Date.parse("2026-12-01T10:00:00Z");
const settingsFor =
  (units = 1) =>
  (hub: string): SchedulerSettings => {
    if (hub !== "hub1") throw new Error(`hub "${hub}" is not among the app's hubs`);
    return { hub, budget: hubBudget("S1", units), graceSeconds: 60 };
  };
const entity = (units = 1) => createHubSchedulerEntity(settingsFor(units), () => now);
const [want] = replicaWants({ name: "web", image: "contoso/web:1.0" }, 1);
const parse = <T>(result: { result?: string }) => JSON.parse(result.result!) as T;

describe("hub scheduler entity", () => {
  it("on a new hub, starts from the hub's budget and answers a want with the configuration's phase", async () => {
    const { state, results } = await runEntity<SchedulerState>(entity(), "hub1", undefined, [
      { name: "want", input: want },
    ]);
    expect(results[0]?.isError).toBe(false);
    const answer = parse<DemandResult>(results[0]!);
    expect(answer.configurationId).toBe(want!.configuration.id);
    expect(answer.state?.phase).toBe("WaitingForHubBudget");
    expect(state?.budget.perMinute).toBe(20);
    expect(Object.keys(state!.configurations)).toEqual([want!.configuration.id]);
  });

  it("hands the applier an inventory of the hub first, then the create of the wanted configuration", async () => {
    const { results } = await runEntity<SchedulerState>(entity(), "hub1", undefined, [
      { name: "want", input: want },
      { name: "next" },
      { name: "report", input: [{ kind: "inventory", outcome: "done", configurationIds: [] }] },
      { name: "next" },
    ]);
    expect(parse<ApplierWork>(results[1]!).actions).toEqual([{ kind: "inventory" }]);
    expect(parse<ApplierWork>(results[3]!).actions).toEqual([
      { kind: "create", configurationId: want!.configuration.id },
    ]);
  });

  it("takes the hub's current units on every operation, so a scaled hub gets its new budget", async () => {
    const first = await runEntity<SchedulerState>(entity(1), "hub1", undefined, [{ name: "status" }]);
    const second = await runEntity<SchedulerState>(entity(3), "hub1", first.state, [{ name: "status" }]);
    expect(second.state?.budget.perMinute).toBe(60);
  });

  it("refuses a malformed want naming the field, and keeps its state as it was", async () => {
    const before = await runEntity<SchedulerState>(entity(), "hub1", undefined, [
      { name: "want", input: want },
    ]);
    const broken = { ...want, configuration: { ...want!.configuration, id: "" } };
    const after = await runEntity<SchedulerState>(entity(), "hub1", before.state, [
      { name: "want", input: broken },
    ]);
    // durable-functions serialises the thrown Error as "{}": the caller sees only that it failed
    expect(after.results[0]?.isError).toBe(true);
    expect(after.state).toEqual(before.state);
  });

  it("charges operations others sent to the hub to its budget, and refuses a charge that is no whole count", async () => {
    const { state, results } = await runEntity<SchedulerState>(entity(), "hub1", undefined, [
      { name: "charge", input: { operations: 3 } },
      { name: "charge", input: { operations: 0.5 } },
    ]);
    expect(results[0]?.isError).toBe(false);
    expect(results[1]?.isError).toBe(true);
    expect(state?.bucket.tokens).toBe(17);
    expect(state?.counters.charged).toBe(3);
  });

  it("answers an unknown operation with an error", async () => {
    const { results } = await runEntity<SchedulerState>(entity(), "hub1", undefined, [{ name: "explode" }]);
    expect(results[0]?.isError).toBe(true);
  });

  it("refuses a hub the app is not configured for", async () => {
    const { state, results } = await runEntity<SchedulerState>(entity(), "hub-z", undefined, [
      { name: "status" },
    ]);
    expect(results[0]?.isError).toBe(true);
    expect(state).toBeUndefined();
  });
});
