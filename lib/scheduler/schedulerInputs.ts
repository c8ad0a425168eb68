// Checks what callers hand the scheduler entity, so a malformed operation fails with the field and
// the reason instead of corrupting the hub's state; and finds the hub's own settings.
import { z } from "zod";
import type { AppSettings } from "../app/settings.js";
import { hubBudget } from "./hubBudget.js";
import type { SchedulerSettings } from "./schedulerState.js";
import type { ReleaseConfiguration, WantConfiguration } from "./schedulerContract.js";

const text = z.string().min(1);

const wantSchema = z.object({
  pod: text,
  node: text,
  configuration: z.looseObject({
    id: text,
    content: z.looseObject({ modulesContent: z.record(z.string(), z.record(z.string(), z.unknown())) }),
    targetCondition: text,
    priority: z.number().int().min(0),
  }),
  kind: z.enum(["base", "layered"]),
  modules: z.record(z.string(), z.string()),
  notifyInstanceId: text.optional(),
});

const releaseSchema = z.object({ pod: text, configurationId: text });

function parsed<T>(schema: z.ZodType, operation: string, input: unknown): T {
  const result = schema.safeParse(input);
  if (result.success) return result.data as T;
  const problems = result.error.issues.map(
    (issue) => `${issue.path.join(".") || "(input)"}: ${issue.message}`,
  );
  throw new TypeError(`hubScheduler operation "${operation}": ${problems.join("; ")}`);
}

export const parseWant = (input: unknown): WantConfiguration => parsed(wantSchema, "want", input);
export const parseRelease = (input: unknown): ReleaseConfiguration => parsed(releaseSchema, "release", input);

/** The scheduler's settings for a hub the app is configured for; a clear error for any other. */
export function schedulerSettings(settings: AppSettings, hub: string): SchedulerSettings {
  const hubSettings = settings.hubs.find((h) => h.name === hub);
  if (!hubSettings) throw new Error(`hub "${hub}" is not among the app's hubs (CONNECTOR_HUBS)`);
  return {
    hub,
    budget: hubBudget(hubSettings.sku, hubSettings.units),
    graceSeconds: settings.releaseGraceSeconds,
  };
}
