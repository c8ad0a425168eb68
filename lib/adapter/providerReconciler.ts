// Reconciles the node with the provider periodically, not only at start: the provider's list of the
// node's pods against the cluster's (podController.reconcileWith: strays deleted, lost pods sent
// again), and each hold the provider keeps for this node against its owner in the cluster: a hold
// whose owner is gone or scaled down is released (retention.ts). Never throws: the next round tries again.
import type { Logger } from "pino";
import { describeError } from "./kubeErrors.js";
import type { AdapterMetrics } from "./metrics.js";
import type { OwnerLookup } from "./ownerLookup.js";
import type { PodController } from "./podController.js";
import type { PodProvider } from "./podProvider.js";
import type { ProviderList } from "./podStatusWriter.js";
import { holdEnds } from "./retention.js";

export interface ProviderReconcilerOptions {
  provider: PodProvider;
  pods: Pick<PodController, "reconcileWith">;
  /** the provider's latest list of the node's pods (the status writer keeps it) */
  providerList: () => ProviderList | undefined;
  readOwner: OwnerLookup;
  intervalMs: number;
  logger: Logger;
  metrics: AdapterMetrics;
}

export class ProviderReconciler {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;

  constructor(private readonly options: ProviderReconcilerOptions) {}

  start(): void {
    this.timer = setInterval(() => {
      this.running ??= this.reconcile().finally(() => (this.running = undefined));
    }, this.options.intervalMs);
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    await this.running;
  }

  async reconcile(): Promise<void> {
    const { logger } = this.options;
    const list = this.options.providerList();
    if (list !== undefined) {
      const { strays, resent } = this.options.pods.reconcileWith(list.pods, list.readAtMs);
      if (strays + resent > 0)
        logger.info({ strays, resent }, "reconciled the provider's pods with the node's");
    }
    await this.checkHolds();
  }

  private async checkHolds(): Promise<void> {
    const { provider, readOwner, logger, metrics } = this.options;
    let holds;
    try {
      holds = await provider.nodeHolds();
    } catch (error) {
      metrics.errors.inc({ kind: "provider" });
      logger.warn({ err: describeError(error) }, "reading the node's holds failed");
      return;
    }
    for (const { namespace, owner, configurationIds } of holds) {
      try {
        const found = await readOwner(owner.kind, namespace, owner.name);
        if (!holdEnds(owner.kind, owner.uid, found === "unread" ? undefined : found)) continue;
        await provider.releaseHolds(owner.uid);
        logger.info(
          { owner: `${namespace}/${owner.kind}/${owner.name}`, configurations: configurationIds },
          "owner gone or scaled down: hold released",
        );
      } catch (error) {
        metrics.errors.inc({ kind: "provider" });
        logger.warn(
          { owner: `${namespace}/${owner.kind}/${owner.name}`, err: describeError(error) },
          "checking a hold failed; it stays",
        );
      }
    }
  }
}
