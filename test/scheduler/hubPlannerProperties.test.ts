// Properties of the planner over random sequences of pods wanting and releasing configurations, time
// passing and the hub throttling: it never exceeds the hub's budget or deployment limit, never deletes
// a configuration a pod wants, and once things settle the hub holds exactly what pods want.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import type { ActionResult } from "../../lib/scheduler/applierProtocol.js";
import { hubBudget } from "../../lib/scheduler/hubBudget.js";
import { nextWork, recordResults, release, want } from "../../lib/scheduler/hubPlanner.js";
import { newSchedulerState } from "../../lib/scheduler/schedulerState.js";
import { replicaWants } from "./replicaPods.js";

const workloads = Array.from({ length: 12 }, (_, i) => replicaWants({ name: `app${i}`, image: "img:1" }, 3));

const step = fc.oneof(
  fc.record({ kind: fc.constant("want" as const), workload: fc.nat(11), replica: fc.nat(2) }),
  fc.record({ kind: fc.constant("release" as const), workload: fc.nat(11), replica: fc.nat(2) }),
  fc.record({ kind: fc.constant("wait" as const), ms: fc.integer({ min: 0, max: 20_000 }) }),
  fc.record({
    kind: fc.constant("throttle" as const),
    retryAfterMs: fc.option(fc.integer({ min: 0, max: 10_000 })),
  }),
);

describe("hub planner properties", () => {
  it("stays within budget and limit, never deletes what a pod wants, and converges to what pods want", () => {
    fc.assert(
      fc.property(fc.array(step, { minLength: 30, maxLength: 80 }), (steps) => {
        let now = Date.parse("2026-11-25T12:00:00Z");
        const start = now;
        // F1's 10 deployments, with a budget small enough for the steps to exhaust it
        const budget = { ...hubBudget("F1", 1), perMinute: 6, burst: 2 };
        const state = newSchedulerState({ hub: "hub-f", budget, graceSeconds: 30 }, now);
        const onHub = new Set<string>();
        const wanted = new Map<string, Set<string>>(); // configuration id → pods
        const operationTimes: number[] = [];
        let throttleNext: number | null | undefined;

        const applierRound = () => {
          const work = nextWork(state, now);
          const results: ActionResult[] = work.actions.map((action) => {
            operationTimes.push(now);
            if (throttleNext !== undefined) {
              const retryAfterMs = throttleNext ?? undefined;
              throttleNext = undefined;
              return action.kind === "inventory"
                ? { kind: "inventory", outcome: "throttled", retryAfterMs }
                : {
                    ...action,
                    outcome: "throttled",
                    ...(retryAfterMs !== undefined && { retryAfterMs }),
                  };
            }
            if (action.kind === "inventory")
              return { kind: "inventory", outcome: "done", configurationIds: [...onHub] };
            if (action.kind === "create") {
              expect(onHub.size).toBeLessThan(budget.deploymentLimit);
              onHub.add(action.configurationId);
              return { kind: "create", configurationId: action.configurationId, outcome: "done" };
            }
            expect(wanted.get(action.configurationId)?.size ?? 0).toBe(0);
            onHub.delete(action.configurationId);
            return { kind: "delete", configurationId: action.configurationId, outcome: "done" };
          });
          if (results.length > 0) recordResults(state, results, now);
          return work;
        };
        const runUntil = (untilMs: number) => {
          for (let round = 0; round < 500; round++) {
            const work = applierRound();
            if (work.actions.length > 0) continue;
            const wakeAt = work.wakeAt === undefined ? undefined : Date.parse(work.wakeAt);
            if (wakeAt === undefined || wakeAt > untilMs) break;
            now = Math.max(now, wakeAt);
          }
          now = Math.max(now, untilMs);
        };

        for (const s of steps) {
          if (s.kind === "wait") runUntil(now + s.ms);
          else if (s.kind === "throttle") throttleNext = s.retryAfterMs;
          else {
            const w = workloads[s.workload]![s.replica]!;
            const pods = wanted.get(w.configuration.id) ?? new Set<string>();
            wanted.set(w.configuration.id, pods);
            if (s.kind === "want") {
              pods.add(w.pod);
              want(state, w, now);
            } else {
              pods.delete(w.pod);
              release(state, { pod: w.pod, configurationId: w.configuration.id }, now);
            }
          }
        }
        throttleNext = undefined;
        runUntil(now + 10 * 60_000);

        // budget: in any minute, no more operations than the bucket holds
        for (const t of operationTimes) {
          const inWindow = operationTimes.filter((u) => u >= t && u < t + 60_000).length;
          expect(inWindow).toBeLessThanOrEqual(budget.burst + budget.perMinute);
        }
        expect(operationTimes.length).toBeLessThanOrEqual(
          budget.burst + ((now - start) / 60_000) * budget.perMinute,
        );
        // settled: the hub holds what pods want (up to the limit), nothing else
        const wantedIds = [...wanted].filter(([, pods]) => pods.size > 0).map(([id]) => id);
        for (const id of onHub) expect(wantedIds).toContain(id);
        expect(onHub.size).toBe(Math.min(wantedIds.length, budget.deploymentLimit));
      }),
      { numRuns: 300 },
    );
  });
});
