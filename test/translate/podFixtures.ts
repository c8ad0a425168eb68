// Small pods for focused tests, built the way a user writes them in YAML.
import type { V1Pod } from "@kubernetes/client-node";
import { parse } from "yaml";

export function podFromYaml(yaml: string): V1Pod {
  return parse(yaml) as V1Pod;
}

/** A replica of the temperature sensor Deployment, as its ReplicaSet creates it. */
export function sensorReplica(
  podName: string,
  image = "mcr.microsoft.com/azureiotedge-simulated-temperature-sensor:1.5",
): V1Pod {
  return podFromYaml(`
apiVersion: v1
kind: Pod
metadata:
  name: ${podName}
  namespace: plant-1
  labels: { app: tempsensor, pod-template-hash: 6d8f7c9b5 }
  ownerReferences:
    - { apiVersion: apps/v1, kind: ReplicaSet, name: tempsensor-6d8f7c9b5, uid: 1b2c, controller: true }
  annotations:
    iotedge.connector/target-condition: "tags.building='b43'"
spec:
  containers:
    - name: tempsensor
      image: ${image}
`);
}
