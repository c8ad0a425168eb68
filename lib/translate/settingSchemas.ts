// The values a pod may give for deployment settings, whichever spelling carries them, as zod
// schemas; `parseSetting` turns a failure into a refusal that names the field.
import { z } from "zod";
import type { Findings } from "./podErrors.js";
import { configMapKey, type ResolvedReferences } from "./resolvedReferences.js";

/** An IoT Hub query condition on device twins: `tags.x='y'`, `properties.reported...`, `deviceId=...`, or `*`. */
export const targetConditionSchema = z
  .string()
  .trim()
  .min(1, "must not be empty")
  .max(4096, "is longer than IoT Hub accepts")
  .refine((text) => !/[\r\n]/.test(text), "must be one line")
  .refine(
    (text) => text === "*" || /\b(tags|properties\.reported|deviceId|capabilities)\b/.test(text),
    "must be an IoT Hub device query condition on tags, properties.reported, deviceId or capabilities (or *)",
  );

export const prioritySchema = z
  .string()
  .regex(/^\d+$/, "must be a whole number of 0 or more")
  .transform(Number)
  .pipe(z.number().max(2147483647, "must be at most 2147483647"));

const routeNamePattern = /^[^.$# ]+$/;
const routeText = z
  .string()
  .regex(/^FROM\s+\S/i, "must be an edgeHub route (FROM <source> [WHERE <condition>] INTO <sink>)");

export const routeSchema = z.union([
  routeText,
  z.strictObject({
    route: routeText,
    priority: z.number().int().min(0).max(9).optional(),
    timeToLiveSecs: z.number().int().min(0).max(4294967295).optional(),
  }),
]);

export const routesSchema = z.record(
  z.string().regex(routeNamePattern, "route names must not contain '.', '$', '#' or spaces"),
  routeSchema,
);

export const twinSchema = z.record(z.string(), z.unknown());

/** Configuration label names the connector lets through: the safe subset of what IoT Hub takes. */
export const labelNamePattern = /^[A-Za-z0-9_.:-]{1,128}$/;

export const labelsSchema = z.record(
  z.string().regex(labelNamePattern, "label names are letters, digits, '_', '.', ':' or '-' (at most 128)"),
  z.string().max(128, "label values are at most 128 characters"),
);

export const metricsSchema = z.record(
  z.string().regex(/^[A-Za-z0-9_-]{1,128}$/, "metric names are letters, digits, '_' or '-'"),
  z
    .string()
    .regex(/^\s*SELECT\s/i, "must be an IoT Hub query (SELECT deviceId FROM devices.modules WHERE ...)"),
);

export const timeToLiveSchema = z
  .string()
  .regex(/^\d+$/, "must be a whole number of seconds")
  .transform(Number)
  .pipe(z.number().max(4294967295, "must be at most 4294967295"));

export const moduleStatusSchema = z.enum(["running", "stopped"]);
export const moduleRestartPolicySchema = z.enum(["always", "on-failure", "on-unhealthy", "never"]);
export const schemaVersionSchema = z.enum(["1.0", "1.1"]);
export const startupOrderSchema = z
  .string()
  .regex(/^\d+$/, "must be a whole number of 0 or more")
  .transform(Number)
  .pipe(z.number().max(4294967295, "must be at most 4294967295"));
export const imageSchema = z.string().regex(/^[^\s]+$/, "must be a container image reference without spaces");

/** Parses JSON text, refusing the field when it is not JSON. Never echoes the text: it may hold secrets. */
export function parseJson(text: string, field: string, findings: Findings): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    findings.refuse(field, "is not valid JSON");
    return undefined;
  }
}

/** Checks a value against a schema; on failure refuses the field with the schema's reasons. */
export function parseSetting<T>(
  value: unknown,
  schema: z.ZodType<T>,
  field: string,
  findings: Findings,
): T | undefined {
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  for (const issue of result.error.issues) {
    const where = issue.path.length > 0 ? `${issue.path.map(String).join(".")}: ` : "";
    findings.refuse(field, `${where}${issue.message}`);
  }
  return undefined;
}

/** A JSON setting in text: parsed, then checked against its schema; refusals name the field. */
export function readJson<T>(
  text: string,
  schema: z.ZodType<T>,
  field: string,
  findings: Findings,
): T | undefined {
  const json = parseJson(text, field, findings);
  return json === undefined ? undefined : parseSetting(json, schema, field, findings);
}

/** A JSON setting held in a ConfigMap key. `requiredBy` names the field that refers to the
 * ConfigMap when it must exist; without it a missing ConfigMap or key simply gives nothing. */
export function readConfigMapJson<T>(
  resolved: ResolvedReferences,
  name: string,
  key: string,
  schema: z.ZodType<T>,
  findings: Findings,
  requiredBy?: string,
): T | undefined {
  const lookup = configMapKey(resolved, name, key);
  if (!lookup.found) {
    if (requiredBy !== undefined) findings.refuse(requiredBy, lookup.reason);
    return undefined;
  }
  return readJson(lookup.value, schema, `configmap/${name}.data.${key}`, findings);
}
