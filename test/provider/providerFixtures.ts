// Pods as the adapter sends them (the shape of `kubectl get pod -o json`).
import type { V1Pod } from "@kubernetes/client-node";
import { annotations } from "../../lib/translate/index.js";

export function podFixture(
  overrides: { name?: string; uid?: string; image?: string; container?: string } = {},
): V1Pod {
  return {
    apiVersion: "v1",
    kind: "Pod",
    metadata: {
      name: overrides.name ?? "sensor",
      namespace: "default",
      uid: overrides.uid ?? "uid-1",
      annotations: { [annotations.targetCondition]: "tags.environment='dev'" },
    },
    spec: {
      nodeName: "edge-node",
      containers: [
        {
          name: overrides.container ?? "sensor",
          image: overrides.image ?? "mcr.microsoft.com/azureiotedge-simulated-temperature-sensor:1.5",
        },
      ],
    },
  };
}
