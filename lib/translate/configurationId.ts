// Content-addressed configuration ids. IoT Hub configuration content is immutable, so the id
// must change whenever the content does, and pods with the same content (the replicas of one
// workload) must get the same id so that they share one configuration. The id is
// `<namespace>-<workload>-<hash>`: the readable part tells an operator whose deployment it is,
// the hash covers the content, target condition, priority, kind, hub and the raw namespace and
// workload names, so two workloads never share an id even where sanitising makes their names
// alike.
import { createHash } from "node:crypto";
import stringify from "safe-stable-stringify";

/** IoT Hub configuration ids: at most 128 characters; the connector uses the safest subset. */
export const maxConfigurationIdLength = 128;
export const configurationIdPattern = /^[a-z0-9][a-z0-9-]{0,127}$/;
const hashLength = 20;

export interface ConfigurationIdentity {
  readonly namespace: string;
  /** the pod's controller (ownerReference with controller: true), else the pod's own name */
  readonly workload: string;
  readonly content: unknown;
  readonly targetCondition: string;
  readonly priority: number;
  readonly kind: "layered" | "base";
  readonly hubName?: string;
}

/** Hex SHA-256 of the identity in canonical JSON (keys sorted), so key order never matters. */
export function configurationHash(identity: ConfigurationIdentity): string {
  const canonical = stringify({
    namespace: identity.namespace,
    workload: identity.workload,
    content: identity.content,
    targetCondition: identity.targetCondition,
    priority: identity.priority,
    kind: identity.kind,
    hubName: identity.hubName ?? null,
  });
  return createHash("sha256")
    .update(canonical ?? "")
    .digest("hex");
}

/** Lowercase letters, digits and single '-' between words; never empty. */
export function sanitizeIdPart(text: string): string {
  const cleaned = text
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, "-")
    .replace(/^-+|-+$/g, "");
  return cleaned === "" ? "x" : cleaned;
}

export function configurationId(identity: ConfigurationIdentity): string {
  const hash = configurationHash(identity).slice(0, hashLength);
  const readable = `${sanitizeIdPart(identity.namespace)}-${sanitizeIdPart(identity.workload)}`;
  const room = maxConfigurationIdLength - hashLength - 1;
  const prefix = readable.slice(0, room).replace(/-+$/, "");
  return `${prefix}-${hash}`;
}
