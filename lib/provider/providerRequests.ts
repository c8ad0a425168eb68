// The provider API's request shapes, checked with zod. Only the envelope is checked here: what a
// pod asks of IoT Edge is the translator's job, and a pod it refuses is accepted and fails.
import type { V1Pod } from "@kubernetes/client-node";
import { z } from "zod";
import { inputLimits, objectDepth } from "../translate/inputLimits.js";
import { badRequest, invalidRequest } from "./providerErrors.js";
import { nodePodsWait, type NodeReconcileRequest, type PutPodRequest } from "./providerContract.js";

/** The pod's own limit, and the request's two levels around it. */
const bodyDepth = inputLimits.objectDepth + 2;

const dnsSubdomain = /^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/;

const nodeName = z
  .string()
  .min(1, "is required")
  .max(253)
  .regex(dnsSubdomain, "must be a DNS subdomain (lower-case letters, digits, '-', '.')");
const stringMap = z.record(z.string(), z.string());

const putPodSchema = z.object({
  node: nodeName,
  pod: z.looseObject({
    metadata: z.looseObject({
      name: z.string().min(1, "is required"),
      namespace: z.string().min(1, "is required"),
      uid: z.string().min(1, "is required"),
    }),
    spec: z.looseObject({}),
  }),
  resolved: z
    .object({
      configMaps: z.record(z.string(), z.looseObject({ data: stringMap.optional() })).default({}),
      secrets: z
        .record(z.string(), z.looseObject({ type: z.string().optional(), data: stringMap.optional() }))
        .default({}),
    })
    .default({ configMaps: {}, secrets: {} }),
  rollout: z.object({ percent: z.number().int().min(1).max(99) }).optional(),
});

const reconcileSchema = z.object({
  pods: z
    .array(z.string().regex(/^[^/]+\/[^/]+\/[^/]+$/, "must be namespace/name/uid"))
    .max(10_000, "at most 10000 pods"),
});

export interface PodRoute {
  namespace: string;
  name: string;
}

/** The PUT pod body, checked against the route's namespace and name. */
export function parsePutPod(body: unknown, route: PodRoute): PutPodRequest {
  // Before anything walks it (the spec hash, the orchestration's input): a pod nests about 10 levels.
  if (objectDepth(body, bodyDepth) > bodyDepth)
    throw badRequest("(body)", `nests more than ${bodyDepth} levels deep; a pod request nests about 12`);
  const parsed = putPodSchema.safeParse(body);
  if (!parsed.success) throw invalidRequest(parsed.error);
  const { metadata } = parsed.data.pod;
  if (metadata.namespace !== route.namespace)
    throw badRequest("pod.metadata.namespace", "does not match the namespace in the URL");
  if (metadata.name !== route.name)
    throw badRequest("pod.metadata.name", "does not match the name in the URL");
  return {
    node: parsed.data.node,
    pod: parsed.data.pod as unknown as V1Pod,
    resolved: parsed.data.resolved,
    ...(parsed.data.rollout !== undefined && { rollout: parsed.data.rollout }),
  };
}

export function parseNodeReconcile(body: unknown): NodeReconcileRequest {
  const parsed = reconcileSchema.safeParse(body);
  if (!parsed.success) throw invalidRequest(parsed.error);
  return parsed.data;
}

export function parseNodeName(node: string): string {
  const parsed = nodeName.safeParse(node);
  if (!parsed.success) throw invalidRequest(parsed.error, "node");
  return parsed.data;
}

export function parseUid(uid: string | null): string {
  if (uid === null || uid === "") throw badRequest("uid", "query parameter is required");
  return uid;
}

const waitSeconds = z.coerce
  .number()
  .int("must be a whole number of seconds")
  .min(0, "must be ≥ 0")
  .max(nodePodsWait.maxSeconds, `must be ≤ ${nodePodsWait.maxSeconds}`);

/** `?wait=` of the node's pod list, in milliseconds (0 when absent: answer at once). */
export function parseNodePodsWait(query: URLSearchParams): number {
  const raw = query.get(nodePodsWait.query);
  if (raw === null || raw === "") return 0;
  const parsed = waitSeconds.safeParse(raw);
  if (!parsed.success) throw invalidRequest(parsed.error, nodePodsWait.query);
  return parsed.data * 1000;
}

export interface LogsQuery {
  device?: string;
  tail?: number;
  since?: string;
  /** prefix each line with its time in RFC 3339 */
  timestamps?: boolean;
}

const logsQuerySchema = z.object({
  device: z.string().min(1).max(128).optional(),
  tail: z.coerce.number().int("must be a whole number").min(0, "must be ≥ 0").max(100_000).optional(),
  since: z
    .string()
    .regex(
      /^(\d+[smhd]|\d+|\d{4}-\d\d-\d\dT[\d:.]+(Z|[+-]\d\d:\d\d))$/,
      "must be a duration (15m), unix seconds or an RFC 3339 time",
    )
    .optional(),
  timestamps: z.enum(["true", "false"], "must be true or false").optional(),
});

export function parseLogsQuery(query: URLSearchParams): LogsQuery {
  const raw = Object.fromEntries(
    ["device", "tail", "since", "timestamps"].flatMap((key) => {
      const value = query.get(key);
      return value === null || value === "" ? [] : [[key, value]];
    }),
  );
  const parsed = logsQuerySchema.safeParse(raw);
  if (!parsed.success) throw invalidRequest(parsed.error);
  const { timestamps, ...rest } = parsed.data;
  return { ...rest, ...(timestamps === "true" ? { timestamps: true } : {}) };
}
