// `npm run demo`: the connector's main job, start to finish, on this machine. With the stack that
// `npm run dev:connector` starts, it applies a workload with kubectl, waits until every pod bound to
// the virtual node is Running on the simulated devices, shows what a user sees (pods, the fleet
// condition, module logs), deletes the workload and waits until its pods are gone.
import type { V1Pod } from "@kubernetes/client-node";
import type { CommandOutput } from "../cluster/commands.js";

interface DemoCluster {
  kubectl(args: string[], input?: string): Promise<CommandOutput>;
}

const fleetCondition = "iotedge.connector/Fleet";
const pollMs = 2_000;
const attempts = 90; // three minutes at most, then the demo fails with what it saw

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function podsOnNode(cluster: DemoCluster, node: string): Promise<V1Pod[]> {
  const { stdout } = await cluster.kubectl([
    "get",
    "pods",
    "--all-namespaces",
    `--field-selector=spec.nodeName=${node}`,
    "-o",
    "json",
  ]);
  return (JSON.parse(stdout) as { items: V1Pod[] }).items;
}

const running = (pod: V1Pod) =>
  pod.status?.phase === "Running" &&
  pod.status.conditions?.some((condition) => condition.type === "Ready" && condition.status === "True");

/** Runs the demo; resolves when the workload ran and was removed, throws with what it saw otherwise. */
export async function runConnectorDemo(cluster: DemoCluster, node: string, workloadFile: string) {
  const say = (text: string) => process.stdout.write(`${text}\n`);
  say(`$ kubectl apply -f ${workloadFile}`);
  say((await cluster.kubectl(["apply", "-f", workloadFile])).stdout.trim());

  let pods: V1Pod[] = [];
  for (let attempt = 0; attempt < attempts; attempt++) {
    pods = await podsOnNode(cluster, node);
    if (pods.length > 0 && pods.every(running)) break;
    await sleep(pollMs);
  }
  say("$ kubectl get pods -o wide");
  say((await cluster.kubectl(["get", "pods", "--all-namespaces", "-o", "wide"])).stdout.trim());
  for (const pod of pods) {
    const fleet = pod.status?.conditions?.find((condition) => condition.type === fleetCondition);
    say(`${pod.metadata?.name}: ${pod.status?.phase} — ${fleet?.message ?? pod.status?.message ?? ""}`);
  }
  if (pods.length === 0 || !pods.every(running)) {
    throw new Error(`the workload's pods did not all become Running and Ready on node ${node}`);
  }
  const first = pods[0]!;
  say(`$ kubectl logs ${first.metadata?.name} --tail=5`);
  say(
    (
      await cluster.kubectl([
        "logs",
        "-n",
        first.metadata?.namespace ?? "default",
        first.metadata?.name ?? "",
        "--tail=5",
      ])
    ).stdout.trim(),
  );

  say(`$ kubectl delete -f ${workloadFile}`);
  say((await cluster.kubectl(["delete", "-f", workloadFile, "--wait=false"])).stdout.trim());
  for (let attempt = 0; attempt < attempts; attempt++) {
    if ((await podsOnNode(cluster, node)).length === 0) {
      say("the workload's pods are gone; its IoT Edge deployment is removed after the release grace period");
      return;
    }
    await sleep(pollMs);
  }
  throw new Error(`the workload's pods were still on node ${node} after deletion`);
}
