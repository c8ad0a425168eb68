// Checks what callers hand the scheduler entity, so a malformed operation fails with the field and
// the reason instead of corrupting the hub's state.
import { z } from "zod";
import type { ChargeOperations, ReleaseConfiguration, WantConfiguration } from "./schedulerContract.js";

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
  workload: text.optional(),
  notifyInstanceId: text.optional(),
  retainContent: z.boolean().optional(),
});

const releaseSchema = z.object({ pod: text, configurationId: text });

const chargeSchema = z.object({ operations: z.number().int().min(1) });

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
export const parseCharge = (input: unknown): ChargeOperations => parsed(chargeSchema, "charge", input);
