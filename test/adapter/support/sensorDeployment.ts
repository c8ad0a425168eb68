// The temperature-sensor Deployment the adapter's end-to-end tests apply: tolerates the virtual
// node's taint, selects it, and targets the simulated devices tagged environment=dev.
export function sensorDeployment(image: string, replicas: number): string {
  return `apiVersion: apps/v1
kind: Deployment
metadata:
  name: temperature-sensor
  namespace: default
spec:
  replicas: ${replicas}
  selector:
    matchLabels: { app: temperature-sensor }
  template:
    metadata:
      labels: { app: temperature-sensor }
      annotations:
        iotedge.connector/target-condition: "tags.environment='dev'"
    spec:
      nodeSelector: { type: virtual-kubelet }
      tolerations:
        - { key: virtual-kubelet.io/provider, operator: Equal, value: iotedge, effect: NoSchedule }
      containers:
        - name: sensor
          image: ${image}
`;
}
