// The temperature-sensor Deployment the adapter's end-to-end tests apply: tolerates the virtual
// node's taint, selects it, and targets the simulated devices tagged environment=dev. Options give
// it another name (and container), pin it to one virtual node, and let Kubernetes evict it soon
// after its node is unreachable or not Ready (tolerationSeconds), as outage tests need.
export interface SensorOptions {
  name?: string;
  container?: string;
  /** the virtual node it must run on (kubernetes.io/hostname) */
  node?: string;
  /** tolerationSeconds for node.kubernetes.io/unreachable and not-ready (Kubernetes adds 300 otherwise) */
  evictAfterSeconds?: number;
}

export function sensorDeployment(image: string, replicas: number, options: SensorOptions = {}): string {
  const name = options.name ?? "temperature-sensor";
  const evictions =
    options.evictAfterSeconds === undefined
      ? []
      : ["unreachable", "not-ready"].map(
          (taint) =>
            `        - { key: node.kubernetes.io/${taint}, operator: Exists, effect: NoExecute, tolerationSeconds: ${options.evictAfterSeconds} }`,
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
      nodeSelector: { type: virtual-kubelet${options.node ? `, kubernetes.io/hostname: ${options.node}` : ""} }
      tolerations:
        - { key: virtual-kubelet.io/provider, operator: Equal, value: azure-iotedge, effect: NoSchedule }
${evictions.join("\n")}
      containers:
        - name: ${options.container ?? "sensor"}
          image: ${image}
`.replace(/\n\n/g, "\n");
}
