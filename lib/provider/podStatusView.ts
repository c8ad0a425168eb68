// A pod record (and its configuration's fleet status, when devices have reported) → the status the
// adapter writes, through the status model's derivePodStatus.
import type { V1Pod } from "@kubernetes/client-node";
import { derivePodStatus } from "../status/podStatus.js";
import type { FleetStatus } from "../status/statusContract.js";
import type { FleetCounts } from "../status/statusContract.js";
import type { HubTrouble } from "../scheduler/schedulerContract.js";
import type { ProviderPodStatus } from "./providerContract.js";
import type { PodRecord } from "./podRecords.js";

export const noDevices: FleetCounts = { targeted: 0, applied: 0, running: 0, failed: 0, offline: 0 };

/** The containers a record keeps: name and image of each. */
export function podContainers(pod: V1Pod): PodRecord["containers"] {
  return (pod.spec?.containers ?? []).map((container) => ({
    name: container.name,
    image: container.image ?? "",
  }));
}

/** `hubTrouble`: the hub's trouble as shown (lib/provider/hubTrouble.ts), for pods still waiting for the hub. */
export function podStatusView(
  record: PodRecord,
  fleet?: FleetStatus,
  hubTrouble?: HubTrouble,
): ProviderPodStatus {
  const status = derivePodStatus(
    record.lifecycle,
    fleet,
    {
      containers: record.containers,
      // each container runs as the module of the same name (lib/translate/containerToModule.ts)
      moduleNames: Object.fromEntries(record.containers.map((container) => [container.name, container.name])),
    },
    hubTrouble,
  );
  return {
    namespace: record.namespace,
    name: record.name,
    uid: record.uid,
    ...(record.configurationId ? { configurationId: record.configurationId } : {}),
    status,
    fleet: fleet?.counts ?? noDevices,
    // a fleet change must show as a new version too
    version: record.version + (fleet?.version ?? 0),
  };
}
