// The node's pod informer on a real control plane: the first list in pages of one snapshot, and
// pods cached without managedFields (which the apiserver does keep), from the list and the watch.
import {
  CoreV1Api,
  KubeConfig,
  type CoreV1ApiListPodForAllNamespacesRequest,
  type ListWatch,
  type V1Pod,
} from "@kubernetes/client-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startControlPlane, type ControlPlane } from "../../dev/cluster/controlPlane.js";
import { nodePodInformer } from "../../lib/adapter/nodePodInformer.js";
import { eventually } from "./support/eventually.js";

const NODE = "vk-pages";

function pod(name: string, nodeName: string): V1Pod {
  return {
    metadata: { name, namespace: "default", labels: { app: "pages" } },
    spec: { nodeName, containers: [{ name: "sensor", image: "example.test/sensor:1" }] },
  };
}

describe("node pod informer", () => {
  let cluster: ControlPlane;
  let core: CoreV1Api;
  let informer: ListWatch<V1Pod> | undefined;
  const listRequests: CoreV1ApiListPodForAllNamespacesRequest[] = [];

  beforeAll(async () => {
    cluster = await startControlPlane();
    const kubeConfig = new KubeConfig();
    kubeConfig.loadFromFile(cluster.kubeconfigPath);
    core = kubeConfig.makeApiClient(CoreV1Api);
    // the namespace's default ServiceAccount must exist before pods can be created
    await eventually(async () => {
      await core.readNamespacedServiceAccount({ name: "default", namespace: "default" });
    });
    for (let index = 0; index < 5; index++)
      await core.createNamespacedPod({ namespace: "default", body: pod(`on-node-${index}`, NODE) });
    await core.createNamespacedPod({ namespace: "default", body: pod("elsewhere", "another-node") });
    const recordingCore = {
      listPodForAllNamespaces: (request: CoreV1ApiListPodForAllNamespacesRequest) => {
        listRequests.push(request);
        return core.listPodForAllNamespaces(request);
      },
    };
    informer = nodePodInformer(kubeConfig, recordingCore, NODE, 2);
    await informer.start();
  }, 120_000);

  afterAll(async () => {
    await informer?.stop();
    await cluster?.stop();
  });

  it("lists the node's pods in pages of one snapshot, and only the node's", () => {
    expect(listRequests.map((request) => request.limit)).toEqual([2, 2, 2]);
    expect(listRequests[0]?._continue).toBeUndefined();
    expect(listRequests.slice(1).every((request) => typeof request._continue === "string")).toBe(true);
    expect(
      informer
        ?.list()
        .map((cached) => cached.metadata?.name)
        .sort(),
    ).toEqual(["on-node-0", "on-node-1", "on-node-2", "on-node-3", "on-node-4"]);
  });

  it("keeps listed pods without the managedFields the apiserver holds for them", async () => {
    const stored = await core.readNamespacedPod({ name: "on-node-0", namespace: "default" });
    expect(stored.metadata?.managedFields?.length).toBeGreaterThan(0);
    expect(informer?.list().filter((cached) => cached.metadata?.managedFields !== undefined)).toEqual([]);
  });

  it("keeps watched pods without managedFields too", async () => {
    await core.createNamespacedPod({ namespace: "default", body: pod("watched", NODE) });
    await eventually(() => expect(informer?.get("watched", "default")).toBeDefined());
    expect(informer?.get("watched", "default")?.metadata).not.toHaveProperty("managedFields");
    expect(informer?.get("watched", "default")?.metadata?.uid).toBeTruthy();
  });
});
