// The temperature-sensor Deployment the adapter's end-to-end tests apply: tolerates the virtual
// node's taint, selects it, and targets the simulated devices tagged environment=dev. Outage tests
// give it another name and let Kubernetes evict it soon after its node is unreachable or not Ready
// (tolerationSeconds; the apiserver adds 300 s otherwise).
export interface SensorOptions {
  name?: string;
  /** tolerationSeconds for the NoExecute taints node.kubernetes.io/unreachable and not-ready */
  evictAfterSeconds?: number;
  /** the container's name, which is the module's on the devices (default sensor) */
  container?: string;
}

export function sensorDeployment(image: string, replicas: number, options: SensorOptions = {}): string {
  const name = options.name ?? "temperature-sensor";
  const evictions = (["unreachable", "not-ready"] as const).map(
    (taint) =>
      `        - { key: node.kubernetes.io/${taint}, operator: Exists, effect: NoExecute, tolerationSeconds: ${options.evictAfterSeconds} }\n`,
  );
  return `apiVersion: apps/v1
kind: Deployment
metadata:
  name: ${name}
  namespace: default
spec:
  replicas: ${replicas}
  selector:
    matchLabels: { app: ${name} }
  template:
    metadata:
      labels: { app: ${name} }
      annotations:
        iotedge.connector/target-condition: "tags.environment='dev'"
    spec:
      nodeSelector: { type: virtual-kubelet }
      tolerations:
        - { key: virtual-kubelet.io/provider, operator: Equal, value: iotedge, effect: NoSchedule }
${options.evictAfterSeconds === undefined ? "" : evictions.join("")}      containers:
        - name: ${options.container ?? "sensor"}
          image: ${image}
`;
}
