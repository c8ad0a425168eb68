// The fleet policy's format: what each namespace may run on a virtual node and on which devices.
// Written by the cluster or hub admin (app setting FLEET_POLICY, the chart's `nodes[].policy`,
// `translate --policy FILE`), never by pod authors; YAML or JSON, checked with zod so that a bad
// policy stops start-up with the field named. docs/fleet-policy.md explains it; the JSON Schema
// beside it is generated from these schemas (fleetPolicyJsonSchema).
import { posix } from "node:path";
import { parse as parseYaml } from "yaml";
import { z } from "zod";
import { formatTwinCondition, parseTargetCondition } from "../hub/twinQuery.js";

/** What a namespace may be granted beyond the defaults. */
export const grantNames = [
  "privileged",
  "hostNetwork",
  "hostPID",
  "hostIPC",
  "capabilities",
  "devices",
  "baseDeployment",
  "runtimeSettings",
  "anyRoutes",
] as const;
export type Grant = (typeof grantNames)[number];

/** The priority range a namespace gets when its policy names none. */
export const defaultPriorityRange = { min: 0, max: 1000 } as const;
const maxPriority = 2147483647;

const deviceScope = z
  .string()
  .trim()
  .min(1, "must not be empty")
  .max(1024, "is longer than 1024 characters")
  .superRefine((text, context) => {
    try {
      formatTwinCondition(parseTargetCondition(text));
    } catch (error) {
      context.addIssue({
        code: "custom",
        message: `is not an IoT Hub device condition: ${(error as Error).message}`,
      });
    }
  })
  .describe("an IoT Hub device condition (tags.site = 'plant-a'), ANDed into every target condition");

const priorityRange = z
  .strictObject({
    min: z.number().int().min(0).max(maxPriority).default(defaultPriorityRange.min),
    max: z.number().int().min(0).max(maxPriority).default(defaultPriorityRange.max),
  })
  .refine((range) => range.min <= range.max, "min must not be greater than max")
  .describe("the deployment priorities the namespace may use (both ends included)");

const registryPattern = /^[a-z0-9]([a-z0-9.-]*[a-z0-9])?(:\d{1,5})?(\/[a-z0-9._-]+)*$/;
const registry = z
  .string()
  .transform((text) => text.trim().toLowerCase().replace(/\/+$/, ""))
  .pipe(
    z
      .string()
      .regex(
        registryPattern,
        "must be a registry host (contoso.azurecr.io) or a repository prefix (contoso.azurecr.io/line-1)",
      ),
  );

const hostPath = z
  .string()
  .refine((path) => path.startsWith("/"), "must be an absolute path")
  .refine(
    (path) => path === "/" || (posix.normalize(path) === path && !path.endsWith("/")),
    "must be a normalised path (no '..', '.', '//' or trailing '/')",
  );

export interface PortRange {
  from: number;
  to: number;
}
const portNumber = z.number().int().min(1).max(65535);
const portRange = z
  .union([
    portNumber,
    z.string().regex(/^\d{1,5}(-\d{1,5})?$/, "must be a port (1883) or a range (8000-8099)"),
  ])
  .transform((value): PortRange => {
    const [from, to = from] = String(value).split("-").map(Number) as [number, number?];
    return { from, to };
  })
  .refine(
    (range) => range.from >= 1 && range.to <= 65535 && range.from <= range.to,
    "must be ports from 1 to 65535, the lower first",
  );

const namespacePolicySchema = z
  .strictObject({
    scope: deviceScope.optional(),
    priority: priorityRange.optional(),
    grants: z
      .array(z.enum(grantNames))
      .default([])
      .describe("privileges beyond the defaults: see docs/fleet-policy.md"),
    registries: z
      .array(registry)
      .optional()
      .describe("registries or repository prefixes images may come from; absent: any"),
    hostPaths: z
      .array(hostPath)
      .optional()
      .describe("host folders modules may bind (the folder and below); absent: any but the protected ones"),
    hostPorts: z.array(portRange).optional().describe("host ports modules may bind; absent: any"),
  })
  .meta({ id: "NamespacePolicy", description: "what pods of the namespace may do on the node" });

const namespacePattern = /^(\*|[a-z0-9]([-a-z0-9]*[a-z0-9])?|[a-z0-9][-a-z0-9]*\*)$/;

const nodePolicySchema = z
  .strictObject({
    scope: deviceScope.optional(),
    namespaces: z
      .record(
        z
          .string()
          .regex(
            namespacePattern,
            "must be a namespace, a prefix ending in '*' (plant-*), or '*' (any other)",
          ),
        namespacePolicySchema,
      )
      .describe("the namespaces that may use the node; any other is refused (NamespaceNotAllowed)"),
  })
  .meta({ id: "NodePolicy", description: "the policy of one virtual node" });

const nodeNamePattern = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

const fleetPolicySchema = z
  .strictObject({
    nodes: z
      .record(z.string().regex(nodeNamePattern, "must be a virtual node's name"), nodePolicySchema)
      .describe("the policy of each virtual node; a node not listed serves no namespace"),
  })
  .meta({
    id: "FleetPolicy",
    title: "IoT Edge Connector fleet policy",
    description: "What each namespace may run on each virtual node, and on which devices",
  });

export type NamespacePolicy = z.output<typeof namespacePolicySchema>;
export type NodePolicy = z.output<typeof nodePolicySchema>;
export type FleetPolicy = z.output<typeof fleetPolicySchema>;

/**
 * The policy of a node nobody wrote one for: the original connector's single-tenant use. Every
 * namespace, the whole hub, base deployments, runtime settings and any routes; container
 * privileges only as the defaults allow (docs/fleet-policy.md).
 */
export const defaultNodePolicy: NodePolicy = {
  namespaces: { "*": { grants: ["baseDeployment", "runtimeSettings", "anyRoutes"] } },
};

/** A node the written fleet policy does not list: it serves no namespace. */
const unlistedNodePolicy: NodePolicy = { namespaces: {} };

export interface PolicyProblem {
  field: string;
  reason: string;
}

/** A policy that cannot be used, with every problem in it. */
export class PolicyError extends Error {
  constructor(readonly problems: readonly PolicyProblem[]) {
    super(`invalid fleet policy: ${problems.map((p) => `${p.field}: ${p.reason}`).join("; ")}`);
    this.name = "PolicyError";
  }
}

/** `nodes.plant-a.namespaces["a.b"].grants[0]` from zod's path. */
function fieldPath(path: readonly PropertyKey[]): string {
  let field = "";
  for (const key of path) {
    if (typeof key === "number") field += `[${key}]`;
    else if (/^[A-Za-z0-9_*-]+$/.test(String(key))) field += field === "" ? String(key) : `.${String(key)}`;
    else field += `[${JSON.stringify(String(key))}]`;
  }
  return field === "" ? "(policy)" : field;
}

function parseWith<T>(schema: z.ZodType<T>, value: unknown): T {
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  throw new PolicyError(
    result.error.issues.map((issue) => ({ field: fieldPath(issue.path), reason: issue.message })),
  );
}

/** YAML or JSON text to a plain value; a syntax error names the line. */
function readText(text: string): unknown {
  try {
    return parseYaml(text, { maxAliasCount: 100 }) as unknown;
  } catch (error) {
    const firstLine = (error as Error).message.split("\n")[0] ?? "";
    throw new PolicyError([{ field: "(policy)", reason: `is not YAML or JSON: ${firstLine}` }]);
  }
}

/** A fleet policy document (`nodes: {<node>: <node policy>}`), as FLEET_POLICY holds it: YAML or
 * JSON text, or the value already read. */
export function parseFleetPolicy(input: unknown): FleetPolicy {
  return parseWith(fleetPolicySchema, typeof input === "string" ? readText(input) : input);
}

/** One node's policy, as the chart's `nodes[].policy` holds it. */
export function parseNodePolicy(input: unknown): NodePolicy {
  return parseWith(nodePolicySchema, typeof input === "string" ? readText(input) : input);
}

/** The node's policy: the built-in default when no fleet policy is written, none when it is not listed. */
export function nodePolicyOf(fleet: FleetPolicy | undefined, node: string): NodePolicy {
  if (fleet === undefined) return defaultNodePolicy;
  return Object.hasOwn(fleet.nodes, node) ? fleet.nodes[node]! : unlistedNodePolicy;
}

/** The entry that governs a namespace: its own, else the longest matching prefix, else `*`. */
export function namespaceEntry(
  policy: NodePolicy,
  namespace: string,
): { key: string; rule: NamespacePolicy } | undefined {
  const entries = Object.entries(policy.namespaces);
  const exact = entries.find(([key]) => key === namespace);
  const prefixes = entries
    .filter(([key]) => key.length > 1 && key.endsWith("*") && namespace.startsWith(key.slice(0, -1)))
    .sort(([a], [b]) => b.length - a.length);
  const chosen = exact ?? prefixes[0] ?? entries.find(([key]) => key === "*");
  return chosen && { key: chosen[0], rule: chosen[1] };
}

/** The JSON Schema of the fleet policy document (docs/fleet-policy.schema.json). */
export function fleetPolicyJsonSchema(): Record<string, unknown> {
  return z.toJSONSchema(fleetPolicySchema, { io: "input", target: "draft-2020-12" });
}
