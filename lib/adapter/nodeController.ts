// Keeps the virtual node alive: registers it, renews its Lease in kube-node-lease (the heartbeat the
// node-lifecycle controller watches) and refreshes its status from the provider's conditions. The node
// stays Ready while this runs; a provider outage is the ProviderReachable condition, a Warning Event
// on the node and the adapter_provider_* metrics, and it never stops the loops.
import {
  PatchStrategy,
  V1MicroTime,
  setHeaderOptions,
  type CoordinationV1Api,
  type CoreV1Api,
  type V1Lease,
  type V1NodeCondition,
  type V1NodeStatus,
} from "@kubernetes/client-node";
import type { Logger } from "pino";
import type { AdapterConfig } from "./config.js";
import { AdapterError, describeError, isConflict, isNotFound } from "./kubeErrors.js";
import type { AdapterMetrics } from "./metrics.js";
import type { NotReadySpan } from "./evictionHold.js";
import type { EventRecorder } from "./podEvents.js";
import type { PodProvider } from "./podProvider.js";
import { virtualNode, virtualNodeStatus, type ProviderConditions } from "./virtualNode.js";

const LEASE_NAMESPACE = "kube-node-lease";
const mergePatch = setHeaderOptions("Content-Type", PatchStrategy.MergePatch);

export interface NodeControllerDeps {
  config: AdapterConfig;
  core: CoreV1Api;
  coordination: CoordinationV1Api;
  provider: PodProvider;
  events: EventRecorder;
  logger: Logger;
  metrics: AdapterMetrics;
}

export class NodeController {
  /** the status last written (conditions and capacity carry over an outage) */
  private status: V1NodeStatus = {};
  private readonly timers: NodeJS.Timeout[] = [];
  private registered = false;
  private notReady: NotReadySpan | undefined;

  constructor(private readonly deps: NodeControllerDeps) {}

  get isRegistered(): boolean {
    return this.registered;
  }

  /** How long the node had not been Ready when this adapter found it (pods deleted then were evicted). */
  get notReadyBeforeStart(): NotReadySpan | undefined {
    return this.notReady;
  }

  /** Registers the node, writes its first status and lease, then keeps both fresh. */
  async start(): Promise<void> {
    await this.register();
    await this.refreshStatus();
    await this.renewLease();
    this.every(this.deps.config.nodeStatusIntervalMs, () => this.refreshStatus());
    this.every(this.deps.config.leaseIntervalMs, () => this.renewLease());
  }

  stop(): void {
    for (const timer of this.timers) clearInterval(timer);
    this.timers.length = 0;
  }

  private every(intervalMs: number, work: () => Promise<void>): void {
    let running = false;
    const timer = setInterval(() => {
      if (running) return; // a slow apiserver must not pile up overlapping writes
      running = true;
      work()
        .catch(() => undefined) // each step logs its own failure
        .finally(() => (running = false));
    }, intervalMs);
    this.timers.push(timer);
  }

  private async register(): Promise<void> {
    const { core, config } = this.deps;
    const node = virtualNode(config);
    try {
      await core.createNode({ body: node });
      this.deps.logger.info({ node: config.nodeName }, "registered node");
    } catch (error) {
      if (!isConflict(error)) throw new AdapterError(`registering node ${config.nodeName}`, error);
      // Our node from an earlier run: bring labels and taint back to what this version sets.
      try {
        const patch = { metadata: { labels: node.metadata?.labels }, spec: node.spec };
        const found = await core.patchNode({ name: config.nodeName, body: patch }, mergePatch);
        const ready = found.status?.conditions?.find((c) => c.type === "Ready");
        if (ready && ready.status !== "True" && ready.lastTransitionTime)
          this.notReady = { since: new Date(ready.lastTransitionTime), until: new Date() };
      } catch (patchError) {
        throw new AdapterError(`updating existing node ${config.nodeName}`, patchError);
      }
      this.deps.logger.info({ node: config.nodeName }, "node existed; labels and taint updated");
    }
    this.registered = true;
  }

  private async refreshStatus(): Promise<void> {
    const { core, config, provider, logger, metrics } = this.deps;
    let conditions: ProviderConditions;
    try {
      conditions = { ok: true, response: await provider.nodeConditions() };
    } catch (error) {
      metrics.errors.inc({ kind: "provider" });
      logger.warn({ err: describeError(error) }, "node conditions: provider did not answer");
      conditions = { ok: false, reason: describeError(error) };
    }
    const status = virtualNodeStatus(config, conditions, this.status, new Date());
    try {
      await core.patchNodeStatus({ name: config.nodeName, body: { status } }, mergePatch);
    } catch (error) {
      metrics.errors.inc({ kind: "node_status" });
      logger.warn({ err: describeError(error) }, "writing node status failed");
      // Someone deleted the node: register it again (its pods were evicted; new ones will come).
      if (isNotFound(error)) await this.register();
      throw error;
    }
    const reachable = (s: V1NodeStatus) => s.conditions?.find((c) => c.type === "ProviderReachable");
    const before = reachable(this.status);
    const now = reachable(status);
    this.status = status;
    if (now && now.status !== before?.status) await this.providerReachabilityChanged(now, !before);
  }

  /** An Event when the app stops or starts answering (the first write counts only when it does not). */
  private async providerReachabilityChanged(condition: V1NodeCondition, first: boolean): Promise<void> {
    const { events, metrics, logger } = this.deps;
    const answers = condition.status === "True";
    metrics.providerReachable.set(answers ? 1 : 0);
    metrics.providerUnreachableSince.set(
      answers ? 0 : new Date(condition.lastTransitionTime ?? Date.now()).getTime() / 1000,
    );
    if (answers && first) return;
    if (answers) logger.info("the Functions app answers again");
    else
      logger.warn(
        { since: condition.lastTransitionTime },
        "the Functions app does not answer; the node stays Ready",
      );
    await events.recordOnNode({
      type: answers ? "Normal" : "Warning",
      reason: condition.reason ?? (answers ? "ProviderAnswers" : "ProviderUnreachable"),
      message: condition.message ?? "",
    });
  }

  private async renewLease(): Promise<void> {
    const { coordination, config, logger, metrics } = this.deps;
    const name = config.nodeName;
    const renewExisting = async () => {
      const lease = await coordination.readNamespacedLease({ name, namespace: LEASE_NAMESPACE });
      lease.spec = { ...lease.spec, holderIdentity: name, renewTime: new V1MicroTime() };
      await coordination.replaceNamespacedLease({ name, namespace: LEASE_NAMESPACE, body: lease });
    };
    try {
      try {
        // A write between our read and ours (a second adapter for the node, briefly) is a 409:
        // read again and renew on top of it, as the kubelet does, rather than fail a start over it.
        await renewExisting().catch(async (error: unknown) => {
          if (!isConflict(error)) throw error;
          await renewExisting();
        });
      } catch (error) {
        if (!isNotFound(error)) throw error;
        const lease: V1Lease = {
          metadata: { name, namespace: LEASE_NAMESPACE },
          spec: {
            holderIdentity: name,
            leaseDurationSeconds: config.leaseDurationSeconds,
            renewTime: new V1MicroTime(),
          },
        };
        await coordination.createNamespacedLease({ namespace: LEASE_NAMESPACE, body: lease });
      }
    } catch (error) {
      metrics.errors.inc({ kind: "lease" });
      logger.warn({ err: describeError(error) }, "renewing node lease failed");
      throw error;
    }
  }
}
