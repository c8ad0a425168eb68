// Runs one of the scheduler's hub operations and reports its outcome as the planner understands it.
// One attempt only: a 429 comes back to the scheduler, which holds the whole hub (with a durable
// timer) instead of a client sleeping and retrying on its own.
import type { HubIdentitySettings } from "../hub/sdkConnection.js";
import type { HubAttemptEvent } from "../hub/hubCallStats.js";
import type { HubClient } from "../hub/hubClient.js";
import {
  HubConflictError,
  HubInvalidContentError,
  HubNotFoundError,
  HubQuotaExceededError,
  HubThrottledError,
} from "../hub/hubErrors.js";
import { createHubClient } from "../hub/createHubClient.js";
import type { EdgeConfiguration } from "../translate/deploymentTypes.js";
import type { ActionOutcome, ActionResult, HubAction } from "./applierProtocol.js";

/** A hub action with what it needs to run: a create and an in-place update carry the content. */
export type HubOperation =
  | Exclude<HubAction, { kind: "create" | "retarget" }>
  | { kind: "create"; configuration: EdgeConfiguration }
  | { kind: "retarget"; configuration: EdgeConfiguration };

/**
 * The operation for an action the scheduler handed out: a create's content comes from where the
 * scheduler keeps it until the hub has it; content no longer held is a failed create (retried later).
 */
export function operationFor(
  action: HubAction,
  contentOf: (configurationId: string) => EdgeConfiguration | undefined,
): HubOperation | ActionResult {
  if (action.kind !== "create" && action.kind !== "retarget") return action;
  const configuration = contentOf(action.configurationId);
  const message = `the scheduler no longer holds the content of configuration ${action.configurationId}`;
  if (action.kind === "create") {
    if (configuration !== undefined) return { kind: "create", configuration };
    return { kind: "create", configurationId: action.configurationId, outcome: "failed", message };
  }
  // the update sends the target the scheduler handed out, whatever a later want brought since
  const { targetCondition, priority } = action;
  if (configuration !== undefined)
    return { kind: "retarget", configuration: { ...configuration, targetCondition, priority } };
  return { ...action, outcome: "failed", message };
}

/** Opens a hub client that reports every attempt (the 429's Retry-After is in the attempt event). */
export type HubConnector = (onAttempt: (event: HubAttemptEvent) => void) => HubClient;

/** `trustedCa`: a CA certificate (PEM) to trust besides Node's roots, e.g. the simulator's. */
export function connectorFor(connection: string | HubIdentitySettings, trustedCa?: string): HubConnector {
  return (onAttempt) =>
    createHubClient(connection, {
      retry: { maxAttempts: 1 },
      onAttempt,
      ...(trustedCa !== undefined && { trustedCa }),
    });
}

/** What the hub stores of a configuration: created with it, sent again whole by an in-place update. */
function hubConfiguration(configuration: EdgeConfiguration) {
  const { id, content, targetCondition, priority, labels, metrics } = configuration;
  return { id, content, targetCondition, priority, labels, metrics };
}

function outcomeOf(error: unknown, retryAfterMs: number | undefined): ActionOutcome {
  const message = error instanceof Error ? error.message : String(error);
  if (error instanceof HubThrottledError)
    return { outcome: "throttled", ...(retryAfterMs !== undefined && { retryAfterMs }) };
  if (error instanceof HubInvalidContentError) return { outcome: "refused", message };
  if (error instanceof HubQuotaExceededError) return { outcome: "hubFull", message };
  return { outcome: "failed", message };
}

export async function runHubAction(action: HubOperation, connect: HubConnector): Promise<ActionResult> {
  let retryAfterMs: number | undefined;
  const client = connect((event) => {
    if (event.outcome === "throttled") retryAfterMs = event.retryAfterMs;
  });
  try {
    switch (action.kind) {
      case "inventory": {
        const listed = await client.listConfigurations().catch((error: unknown) => error as Error);
        if (listed instanceof Error) return { kind: "inventory", ...outcomeOf(listed, retryAfterMs) };
        return { kind: "inventory", outcome: "done", configurationIds: listed.map((c) => c.id) };
      }
      case "create": {
        const { configuration } = action;
        const target = { kind: "create" as const, configurationId: configuration.id };
        try {
          await client.createConfiguration(hubConfiguration(configuration));
        } catch (error) {
          // Ids are content-addressed: one with this id already on the hub is this configuration.
          if (!(error instanceof HubConflictError)) return { ...target, ...outcomeOf(error, retryAfterMs) };
        }
        return { ...target, outcome: "done" };
      }
      case "retarget": {
        const { configuration } = action;
        const target = {
          kind: "retarget" as const,
          configurationId: configuration.id,
          targetCondition: configuration.targetCondition,
          priority: configuration.priority,
        };
        try {
          // one PUT: the content as created, the new target condition and priority, any etag
          await client.replaceConfiguration({ ...hubConfiguration(configuration), etag: "*" });
        } catch (error) {
          return { ...target, ...outcomeOf(error, retryAfterMs) };
        }
        return { ...target, outcome: "done" };
      }
      case "delete": {
        const target = { kind: "delete" as const, configurationId: action.configurationId };
        try {
          await client.deleteConfiguration(action.configurationId);
        } catch (error) {
          if (!(error instanceof HubNotFoundError)) return { ...target, ...outcomeOf(error, retryAfterMs) };
        }
        return { ...target, outcome: "done" };
      }
    }
  } finally {
    client.close();
  }
}
