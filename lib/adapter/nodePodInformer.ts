// The informer (list, then watch) of one node's pods, built to hold little. The first list comes
// in pages, so a node with thousands of pods never has its whole list in memory at once as text,
// parsed JSON and deserialized objects; and every cached pod drops metadata.managedFields, which
// the adapter never reads and which, with the controllers' and our status writers' entries, is
// about a third of a pod.
import {
  ListWatch,
  Watch,
  type CoreV1Api,
  type KubeConfig,
  type V1Pod,
  type V1PodList,
} from "@kubernetes/client-node";

const LIST_PAGE_SIZE = 500;

function withoutManagedFields(pod: V1Pod): V1Pod {
  if (pod.metadata?.managedFields !== undefined) delete pod.metadata.managedFields;
  return pod;
}

/** A watch whose events carry their pods without managedFields, before the cache keeps them. */
class TrimmedPodWatch extends Watch {
  override watch(
    path: string,
    queryParams: Record<string, string | number | boolean | undefined>,
    callback: (phase: string, apiObj: V1Pod, watchObj?: unknown) => void,
    done: (err: unknown) => void,
  ): Promise<AbortController> {
    return super.watch(
      path,
      queryParams,
      (phase, pod: V1Pod, event) => callback(phase, withoutManagedFields(pod), event),
      done,
    );
  }
}

/**
 * Every page of the node's pods as one list. The pages are one consistent snapshot (the continue
 * token pins the list's resourceVersion), so the watch resumes from the last page's version.
 */
async function listInPages(
  core: Pick<CoreV1Api, "listPodForAllNamespaces">,
  fieldSelector: string,
  pageSize: number,
): Promise<V1PodList> {
  const items: V1Pod[] = [];
  let page: V1PodList;
  let next: string | undefined;
  do {
    page = await core.listPodForAllNamespaces({
      fieldSelector,
      limit: pageSize,
      ...(next !== undefined && { _continue: next }),
    });
    for (const pod of page.items) items.push(withoutManagedFields(pod));
    next = page.metadata?._continue || undefined;
  } while (next !== undefined);
  return { ...page, items };
}

export function nodePodInformer(
  kubeConfig: KubeConfig,
  core: Pick<CoreV1Api, "listPodForAllNamespaces">,
  nodeName: string,
  pageSize = LIST_PAGE_SIZE,
): ListWatch<V1Pod> {
  const fieldSelector = `spec.nodeName=${nodeName}`;
  return new ListWatch<V1Pod>(
    "/api/v1/pods",
    new TrimmedPodWatch(kubeConfig),
    () => listInPages(core, fieldSelector, pageSize),
    false,
    undefined,
    fieldSelector,
  );
}
