// The in-memory apiserver of the lifecycle tests (support/fakeCluster.ts), through the real client:
// it must answer as the real one does where the adapter can tell, or those tests prove nothing.
import {
  ApiException,
  CoordinationV1Api,
  CoreV1Api,
  PatchStrategy,
  Watch,
  setHeaderOptions,
  type V1Pod,
} from "@kubernetes/client-node";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { eventually } from "./support/eventually.js";
import { FakeCluster } from "./support/fakeCluster.js";

const mergePatch = setHeaderOptions("Content-Type", PatchStrategy.MergePatch);
const namespace = "default";

let cluster: FakeCluster;
let core: CoreV1Api;

beforeEach(async () => {
  cluster = await FakeCluster.start();
  core = cluster.kubeConfig().makeApiClient(CoreV1Api);
});

afterEach(() => cluster.stop());

/** The HTTP status and reason of a refused call. */
async function refusal(call: Promise<unknown>): Promise<{ code: number; reason: string }> {
  const error = await call.then(
    () => undefined,
    (caught: unknown) => caught,
  );
  if (!(error instanceof ApiException)) throw new Error(`expected an API error, got ${String(error)}`);
  const body = JSON.parse(String(error.body)) as { reason: string };
  return { code: error.code, reason: body.reason };
}

const createPod = (name: string, nodeName?: string) =>
  core.createNamespacedPod({
    namespace,
    body: { metadata: { name }, spec: { nodeName, containers: [{ name: "c", image: "i" }] } },
  });

describe("fake apiserver", () => {
  it("refuses a taken name with AlreadyExists and a stale resourceVersion with Conflict", async () => {
    await core.createNode({ body: { metadata: { name: "n1" } } });
    expect(await refusal(core.createNode({ body: { metadata: { name: "n1" } } }))).toEqual({
      code: 409,
      reason: "AlreadyExists",
    });
    const leases = cluster.kubeConfig().makeApiClient(CoordinationV1Api);
    const lease = await leases.createNamespacedLease({
      namespace: "kube-node-lease",
      body: { metadata: { name: "n1" }, spec: { holderIdentity: "n1" } },
    });
    const renewed = { ...lease, spec: { ...lease.spec, leaseDurationSeconds: 40 } };
    await leases.replaceNamespacedLease({ name: "n1", namespace: "kube-node-lease", body: renewed });
    const stale = leases.replaceNamespacedLease({ name: "n1", namespace: "kube-node-lease", body: lease });
    expect(await refusal(stale)).toEqual({ code: 409, reason: "Conflict" });
    expect(await refusal(core.readNode({ name: "n2" }))).toEqual({ code: 404, reason: "NotFound" });
  });

  it("keeps a pod's status out of object writes and its spec out of status writes; a no-op write changes nothing", async () => {
    const created = await createPod("p1", "node-1");
    expect(created.status).toEqual({ phase: "Pending" });
    const running = await core.patchNamespacedPodStatus(
      { name: "p1", namespace, body: { spec: { nodeName: "other" }, status: { phase: "Running" } } },
      mergePatch,
    );
    expect(running.spec?.nodeName).toBe("node-1");
    expect(running.status).toEqual({ phase: "Running" });
    const relabelled = await core.patchNamespacedPod(
      { name: "p1", namespace, body: { metadata: { labels: { a: "b" } }, status: { phase: "Failed" } } },
      mergePatch,
    );
    expect(relabelled.status?.phase).toBe("Running");
    const again = await core.patchNamespacedPod(
      { name: "p1", namespace, body: { metadata: { labels: { a: "b" } } } },
      mergePatch,
    );
    expect(again.metadata?.resourceVersion).toBe(relabelled.metadata?.resourceVersion);
  });

  it("deletes a pod bound to a node gracefully: a shorter grace moves the deadline, grace 0 with its uid removes it", async () => {
    const pod = await createPod("p1", "node-1");
    const terminating = await core.deleteNamespacedPod({ name: "p1", namespace, gracePeriodSeconds: 60 });
    expect(terminating.metadata?.deletionGracePeriodSeconds).toBe(60);
    const deadline = terminating.metadata?.deletionTimestamp?.getTime() ?? 0;
    const shortened = await core.deleteNamespacedPod({ name: "p1", namespace, gracePeriodSeconds: 10 });
    expect(shortened.metadata?.deletionTimestamp?.getTime()).toBe(deadline - 50_000);
    const wrongUid = core.deleteNamespacedPod({
      name: "p1",
      namespace,
      body: { gracePeriodSeconds: 0, preconditions: { uid: "another-uid" } },
    });
    expect(await refusal(wrongUid)).toEqual({ code: 409, reason: "Conflict" });
    await core.deleteNamespacedPod({
      name: "p1",
      namespace,
      body: { gracePeriodSeconds: 0, preconditions: { uid: pod.metadata?.uid } },
    });
    expect(await refusal(core.readNamespacedPod({ name: "p1", namespace }))).toMatchObject({ code: 404 });
  });

  it("deletes a pod bound to no node at once", async () => {
    await createPod("unbound");
    const deleted = await core.deleteNamespacedPod({ name: "unbound", namespace, gracePeriodSeconds: 30 });
    expect(deleted.metadata?.deletionTimestamp).toBeUndefined();
    expect((await core.listNamespacedPod({ namespace })).items).toEqual([]);
  });

  it("watches from a resourceVersion: later changes in order, DELETED when a pod leaves the field selector", async () => {
    await createPod("before", "node-1");
    const list = await core.listPodForAllNamespaces({ fieldSelector: "status.phase=Running" });
    await createPod("p1", "node-1");
    const events: string[] = [];
    const watch = await new Watch(cluster.kubeConfig()).watch(
      "/api/v1/pods",
      { resourceVersion: list.metadata?.resourceVersion, fieldSelector: "status.phase=Running" },
      (type: string, pod: V1Pod) => events.push(`${type} ${pod.metadata?.name}`),
      () => undefined,
    );
    const setPhase = (phase: string) =>
      core.patchNamespacedPodStatus({ name: "p1", namespace, body: { status: { phase } } }, mergePatch);
    await setPhase("Running");
    await core.patchNamespacedPod(
      { name: "p1", namespace, body: { metadata: { labels: { a: "b" } } } },
      mergePatch,
    );
    await setPhase("Succeeded");
    await eventually(() => expect(events).toEqual(["ADDED p1", "MODIFIED p1", "DELETED p1"]), {
      attempts: 50,
      intervalMs: 20,
    });
    watch.abort();
  });

  it("refuses what it does not implement rather than ignoring it: other patch types, label selectors", async () => {
    await createPod("p1");
    const strategic = core.patchNamespacedPod(
      { name: "p1", namespace, body: { metadata: { labels: { a: "b" } } } },
      setHeaderOptions("Content-Type", PatchStrategy.StrategicMergePatch),
    );
    expect(await refusal(strategic)).toEqual({ code: 415, reason: "UnsupportedMediaType" });
    expect(await refusal(core.listNamespacedPod({ namespace, labelSelector: "a=b" }))).toMatchObject({
      code: 400,
    });
    expect(await refusal(core.listNamespacedPod({ namespace, fieldSelector: "spec.image=i" }))).toMatchObject(
      {
        code: 400,
      },
    );
  });
});
