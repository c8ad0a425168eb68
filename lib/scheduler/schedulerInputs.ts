// Checks what callers hand the scheduler entity, so a malformed operation fails with the field and
// the reason instead of corrupting the hub's state.
import { z } from "zod";
import type { EdgeConfiguration } from "../translate/deploymentTypes.js";
import type {
  AccountOperations,
  ReleaseConfiguration,
  ReleasePod,
  WantConfiguration,
} from "./schedulerContract.js";

const text = z.string().min(1);

const configurationSchema = z.looseObject({
  id: text,
  content: z.looseObject({ modulesContent: z.record(z.string(), z.record(z.string(), z.unknown())) }),
  targetCondition: text,
  priority: z.number().int().min(0),
});

const wantSchema = z.object({
  pod: text,
  node: text,
  configuration: configurationSchema,
  kind: z.enum(["base", "layered"]),
  modules: z.record(z.string(), z.string()),
  notifyInstanceId: text.optional(),
  owner: text.optional(),
});

const releaseSchema = z.object({ pod: text, configurationId: text });
const releasePodSchema = z.object({ pod: text, keep: text.optional(), holdAs: text.optional() });
const adoptSchema = z.array(configurationSchema);
const accountSchema = z.object({
  operations: z.number().int().min(0),
  listed: z.object({ ids: z.array(text), at: z.iso.datetime() }).optional(),
});

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
export const parseReleasePod = (input: unknown): ReleasePod => parsed(releasePodSchema, "releasePod", input);
export const parseAdopt = (input: unknown): EdgeConfiguration[] => parsed(adoptSchema, "adoptOrphans", input);
export const parseAccount = (input: unknown): AccountOperations =>
  parsed(accountSchema, "accountOperations", input);
