// Keeps the virtual node alive: registers it, renews its Lease in kube-node-lease (the heartbeat the
// node-lifecycle controller watches) and refreshes its status from the provider's conditions. The node
// is Ready while this runs; a provider outage is a condition of its own and never stops the loops.
// Before writing Ready (at start, and after a gap in its writes) it reads the Node, so it knows when
// the node was not Ready while it was away (nodeReadiness.ts).
import {
  PatchStrategy,
  V1MicroTime,
  setHeaderOptions,
  type CoordinationV1Api,
  type CoreV1Api,
  type V1Lease,
  type V1NodeCondition,
} from "@kubernetes/client-node";
import type { Logger } from "pino";
import type { AdapterConfig } from "./config.js";
import { AdapterError, describeError, isConflict, isNotFound } from "./kubeErrors.js";
import type { AdapterMetrics } from "./metrics.js";
import type { PodProvider } from "./podProvider.js";
import { NodeReadinessHistory, type NodeReadiness } from "./nodeReadiness.js";
import { virtualNode, virtualNodeStatus, type ProviderConditions } from "./virtualNode.js";

const LEASE_NAMESPACE = "kube-node-lease";
const mergePatch = setHeaderOptions("Content-Type", PatchStrategy.MergePatch);

export interface NodeControllerDeps {
  config: AdapterConfig;
  core: CoreV1Api;
  coordination: CoordinationV1Api;
  provider: PodProvider;
  logger: Logger;
  metrics: AdapterMetrics;
}

export class NodeController {
  private conditions: V1NodeCondition[] = [];
  private readonly timers: NodeJS.Timeout[] = [];
  private registered = false;
  private readonly history = new NodeReadinessHistory();
  private lastWrittenMs: number | undefined;

  constructor(private readonly deps: NodeControllerDeps) {}

  get isRegistered(): boolean {
    return this.registered;
  }

  /** When the node was not Ready (while this adapter was away or cut off). */
  get readiness(): NodeReadiness {
    return this.history;
  }

  /** Registers the node, writes its first status and lease, then keeps both fresh. */
  async start(): Promise<void> {
    await this.observeNode();
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
        await core.patchNode({ name: config.nodeName, body: patch }, mergePatch);
      } catch (patchError) {
        throw new AdapterError(`updating existing node ${config.nodeName}`, patchError);
      }
      this.deps.logger.info({ node: config.nodeName }, "node existed; labels and taint updated");
    }
    this.registered = true;
  }

  /** Reads the Node's Ready condition as the node lifecycle controller left it (before this adapter writes it). */
  private async observeNode(): Promise<void> {
    const { core, config, logger } = this.deps;
    try {
      this.history.observe(await core.readNode({ name: config.nodeName }), new Date());
    } catch (error) {
      if (isNotFound(error)) this.history.observe(undefined, new Date());
      else logger.warn({ err: describeError(error) }, "reading the node before writing Ready failed");
    }
  }

  private async refreshStatus(): Promise<void> {
    const { core, config, provider, logger, metrics } = this.deps;
    // No write for longer than the controller's grace: it may have marked the node not Ready meanwhile.
    const gapMs = 3 * config.nodeStatusIntervalMs;
    if (this.lastWrittenMs !== undefined && Date.now() - this.lastWrittenMs > gapMs) await this.observeNode();
    let conditions: ProviderConditions;
    try {
      conditions = { ok: true, response: await provider.nodeConditions() };
    } catch (error) {
      metrics.errors.inc({ kind: "provider" });
      logger.warn({ err: describeError(error) }, "node conditions: provider did not answer");
      conditions = { ok: false, reason: describeError(error) };
    }
    const status = virtualNodeStatus(config, conditions, this.conditions, new Date());
    try {
      await core.patchNodeStatus({ name: config.nodeName, body: { status } }, mergePatch);
      this.conditions = status.conditions ?? [];
      this.history.readyWritten(new Date());
      this.lastWrittenMs = Date.now();
    } catch (error) {
      metrics.errors.inc({ kind: "node_status" });
      logger.warn({ err: describeError(error) }, "writing node status failed");
      // Someone deleted the node: register it again (its pods were evicted; new ones will come).
      if (isNotFound(error)) await this.register();
      throw error;
    }
  }

  private async renewLease(): Promise<void> {
    const { coordination, config, logger, metrics } = this.deps;
    const name = config.nodeName;
    try {
      try {
        const lease = await coordination.readNamespacedLease({ name, namespace: LEASE_NAMESPACE });
        lease.spec = { ...lease.spec, holderIdentity: name, renewTime: new V1MicroTime() };
        await coordination.replaceNamespacedLease({ name, namespace: LEASE_NAMESPACE, body: lease });
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
