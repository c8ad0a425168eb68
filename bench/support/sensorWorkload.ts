// The benches' workload: `deployments` Deployments of `replicas` pods each on the virtual nodes.
// Distinct container names make distinct module content: one hub configuration per Deployment.
export function sensorWorkload(options: { deployments: number; replicas: number; bench: string }): string {
  return Array.from(
    { length: options.deployments },
    (_, index) => `apiVersion: apps/v1
kind: Deployment
metadata: { name: sensor-${index}, namespace: default }
spec:
  replicas: ${options.replicas}
  selector: { matchLabels: { app: sensor-${index} } }
  template:
    metadata:
      labels: { app: sensor-${index}, bench: ${options.bench} }
      annotations: { iotedge.connector/target-condition: "tags.environment='dev'" }
    spec:
      nodeSelector: { type: virtual-kubelet }
      tolerations: [{ key: virtual-kubelet.io/provider, operator: Equal, value: iotedge, effect: NoSchedule }]
      containers: [{ name: sensor${index}, image: "mcr.microsoft.com/azureiotedge-simulated-temperature-sensor:1.5" }]
`,
  ).join("---\n");
}
