// The bench's view of its pods: one watch (the apiserver sends what changed) instead of listing every
// pod twice a second, which cost the bench more CPU than the app and Azurite together at 1,000 pods
// on the shared 2 cores (docs/benchmarks.md). A watch that ends is resumed from the last version seen.
import { CoreV1Api, KubeConfig, Watch, type V1Pod } from "@kubernetes/client-node";

export interface PodWatch {
  stop(): void;
}

export async function watchPods(
  kubeconfigPath: string,
  labelSelector: string,
  onPod: (pod: V1Pod) => void,
): Promise<PodWatch> {
  const kubeConfig = new KubeConfig();
  kubeConfig.loadFromFile(kubeconfigPath);
  const core = kubeConfig.makeApiClient(CoreV1Api);
  const watch = new Watch(kubeConfig);
  let stopped = false;
  let current: AbortController | undefined;
  let resourceVersion = "";

  async function list(): Promise<void> {
    const pods = await core.listPodForAllNamespaces({ labelSelector });
    for (const pod of pods.items) onPod(pod);
    resourceVersion = pods.metadata?.resourceVersion ?? "";
  }
  async function start(): Promise<void> {
    current = await watch.watch(
      "/api/v1/pods",
      { labelSelector, resourceVersion, allowWatchBookmarks: true },
      (type: string, pod: V1Pod) => {
        resourceVersion = pod.metadata?.resourceVersion ?? resourceVersion;
        if (type !== "BOOKMARK") onPod(pod);
      },
      (error: unknown) => {
        // 410 Gone: the version is too old to resume from; list again
        if (!stopped) void resume(/410|expired/i.test(String(error)));
      },
    );
  }
  async function resume(relist: boolean): Promise<void> {
    try {
      if (relist) await list();
      await start();
    } catch {
      if (!stopped) setTimeout(() => void resume(true), 1_000);
    }
  }
  await list();
  await start();
  return {
    stop() {
      stopped = true;
      current?.abort();
    },
  };
}
