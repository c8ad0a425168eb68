// The provider API through the local host running the app's own registrations (TypeScript entry
// files through tsx), with Azurite for durable state and pod records, and the IoT Hub simulator.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { HubClient } from "../../lib/hub/hubClient.js";
import type {
  NodeConditionsResponse,
  NodePodsResponse,
  ProviderError,
  ProviderPodStatus,
} from "../../lib/provider/providerContract.js";
import type { RunningSimulator } from "../../dev/simulator/simulator.js";
import { eventually } from "../support/testSimulator.js";
import { podFixture } from "../provider/providerFixtures.js";
import { hub, keyOf, masterKey, node, startAppHarness, type AppHarness } from "./appHarness.js";
import { annotations } from "../../lib/translate/annotations.js";

describe("provider API through the local host", { timeout: 120_000 }, () => {
  let harness: AppHarness;
  let simulator: RunningSimulator;
  let hubClient: HubClient;
  const call: AppHarness["call"] = (...args) => harness.call(...args);
  const putPod: AppHarness["putPod"] = (...args) => harness.putPod(...args);
  const podStatus: AppHarness["podStatus"] = (name) => harness.podStatus(name);

  beforeAll(async () => {
    harness = await startAppHarness();
    ({ simulator, hubClient } = harness);
  });

  afterAll(async () => {
    await harness?.stop();
  });

  it("answers 401 without a function key", async () => {
    const response = await call(`${hub}/nodes/${node}/pods`, {}, "");
    expect(response.status).toBe(401);
  });

  it("refuses a pod without a uid with 400 naming the field", async () => {
    const pod = podFixture({ name: "no-uid" });
    delete pod.metadata!.uid;
    const response = await putPod(pod);
    expect(response.status).toBe(400);
    const body = (await response.json()) as ProviderError;
    expect(body.error.field).toBe("pod.metadata.uid");
  });

  it("refuses a body whose pod name differs from the URL", async () => {
    const response = await putPod(podFixture({ name: "a" }), `${hub}/namespaces/default/pods/b`);
    expect(response.status).toBe(400);
    expect(((await response.json()) as ProviderError).error.field).toBe("pod.metadata.name");
  });

  it("refuses a request for another hub with 403: a node's key is good for its own hub only", async () => {
    const response = await call(`other-hub/nodes/${node}/pods`);
    expect(response.status).toBe(403);
    expect(((await response.json()) as ProviderError).error.code).toBe("OtherHub");
  });

  it("refuses the host's master key with 403: the host admits it, but it is no node's credential", async () => {
    const response = await call(`${hub}/nodes/${node}/pods`, {}, masterKey);
    expect(response.status).toBe(403);
    expect(((await response.json()) as ProviderError).error.code).toBe("NotANodeCredential");
  });

  it("refuses a node's key for another node's PUT, pod list, reconcile and conditions with 403", async () => {
    const asOther = await putPod(podFixture({ name: "not-mine", uid: "uid-not-mine" }), undefined, {
      node: "other-node",
      key: keyOf(node),
    });
    expect(asOther.status).toBe(403);
    expect(((await asOther.json()) as ProviderError).error.code).toBe("OtherNode");
    const list = await call(`${hub}/nodes/other-node/pods`);
    const reconcile = await call(`${hub}/nodes/other-node/reconcile`, {
      method: "POST",
      body: JSON.stringify({ pods: [] }),
    });
    const conditions = await call(`${hub}/nodes/other-node/conditions`);
    expect([list.status, reconcile.status, conditions.status]).toEqual([403, 403, 403]);
  });

  it("accepts a pod the translator refuses and reports it Failed with reason UnsupportedPod and the problems", async () => {
    const pod = podFixture({ name: "with-init", uid: "uid-init" });
    pod.spec!.initContainers = [{ name: "setup", image: "busybox" }];
    const response = await putPod(pod);
    expect(response.status).toBe(201);
    const status = await eventually(
      () => podStatus("with-init"),
      (s) => s.status.phase === "Failed",
      { attempts: 300, intervalMs: 100 },
    );
    expect(status.status.reason).toBe("UnsupportedPod");
    expect(status.status.message).toContain("spec.initContainers");
  });

  const listConfigurationIds = async () => (await hubClient.listConfigurations()).map((c) => c.id);
  const waitUntilOnHub = (name: string) =>
    eventually(
      () => podStatus(name),
      (s) => s.status.conditions?.some((c) => c.type === "PodScheduled" && c.status === "True") === true,
      { attempts: 400, intervalMs: 100 },
    );

  it("deploys a pod: its configuration reaches the hub and the status and node list say so", async () => {
    const response = await putPod(podFixture({ name: "sensor", uid: "uid-sensor" }));
    expect(response.status).toBe(201);
    const status = await waitUntilOnHub("sensor");
    // devices may already run it: Pending (applying) or Running, never Failed
    expect(["Pending", "Running"]).toContain(status.status.phase);
    expect(status.status.conditions).toContainEqual(
      expect.objectContaining({ type: "PodScheduled", status: "True" }),
    );
    expect(await listConfigurationIds()).toContain(status.configurationId);

    const list = (await (await call(`${hub}/nodes/${node}/pods`)).json()) as NodePodsResponse;
    expect(list.pods.find((listed) => listed.name === "sensor")?.configurationId).toBe(
      status.configurationId,
    );
  });

  it("the node's pod list answers 304 to its ETag until a pod changes", async () => {
    const quietNode = "quiet-node";
    const quiet = (route: string, init: RequestInit = {}) => call(route, init, keyOf(quietNode));
    const refusedPod = (name: string) => {
      const pod = podFixture({ name, uid: `uid-${name}` });
      pod.spec!.initContainers = [{ name: "setup", image: "busybox" }];
      return { node: quietNode, pod, resolved: { configMaps: {}, secrets: {} } };
    };
    const put = (name: string) =>
      quiet(`${hub}/namespaces/default/pods/${name}`, {
        method: "PUT",
        body: JSON.stringify(refusedPod(name)),
      });
    const list = () => quiet(`${hub}/nodes/${quietNode}/pods`);
    expect((await put("quiet-1")).status).toBe(201);
    await eventually(
      () => harness.podStatus("quiet-1", keyOf(quietNode)),
      (s) => s.status.phase === "Failed",
      { attempts: 300, intervalMs: 100 },
    );
    const first = await list();
    const etag = first.headers.get("etag")!;
    expect(etag).toBe(`"${((await first.json()) as NodePodsResponse).version}"`);
    const unchanged = await quiet(`${hub}/nodes/${quietNode}/pods`, { headers: { "if-none-match": etag } });
    expect(unchanged.status).toBe(304);

    expect((await put("quiet-2")).status).toBe(201);
    const changed = await quiet(`${hub}/nodes/${quietNode}/pods`, { headers: { "if-none-match": etag } });
    expect(changed.status).toBe(200);
    expect(changed.headers.get("etag")).not.toBe(etag);
  });

  it("an update with a new image puts the new configuration on the hub and removes the old one", async () => {
    await putPod(
      podFixture({
        name: "updated",
        uid: "uid-updated",
        image: "example.azurecr.io/app:1",
        container: "updated",
      }),
    );
    const before = await waitUntilOnHub("updated");
    const changed = await putPod(
      podFixture({
        name: "updated",
        uid: "uid-updated",
        image: "example.azurecr.io/app:2",
        container: "updated",
      }),
    );
    expect(changed.status).toBe(200);
    const after = await eventually(
      () => podStatus("updated"),
      (s) =>
        s.configurationId !== before.configurationId &&
        s.status.conditions?.some((c) => c.type === "PodScheduled" && c.status === "True") === true,
      { attempts: 400, intervalMs: 100 },
    );
    const ids = await eventually(listConfigurationIds, (list) => !list.includes(before.configurationId!), {
      attempts: 300,
      intervalMs: 100,
    });
    expect(ids).toContain(after.configurationId);
  });

  it("reports Running with the fleet counts once devices run the pod, and names a failing device", async () => {
    simulator.fleet.injectFault("dev-3", "reporter", "crash");
    const pod = podFixture({
      name: "reporter",
      uid: "uid-reporter",
      container: "reporter",
      image: "example.azurecr.io/reporter:1",
    });
    expect((await putPod(pod)).status).toBe(201);
    await waitUntilOnHub("reporter");
    await simulator.fleet.evaluateNow();
    const status = await eventually(
      () => podStatus("reporter"),
      (s) => s.status.phase === "Running" && s.fleet.running === 2 && s.fleet.failed === 1,
      { attempts: 400, intervalMs: 100 },
    );
    expect(status.fleet).toMatchObject({ targeted: 3, applied: 3, running: 2, failed: 1 });
    expect(status.status.message).toContain("dev-3");
  });

  it("serves a container's logs from a device that runs its module", async () => {
    const response = await call(`${hub}/namespaces/default/pods/reporter/containers/reporter/logs?tail=5`);
    expect(response.status).toBe(200);
    expect(["dev-1", "dev-2"]).toContain(response.headers.get("x-device-id"));
    const lines = (await response.text()).trimEnd().split("\n");
    expect(lines.length).toBeGreaterThan(0);
    expect(lines.length).toBeLessThanOrEqual(5);
  });

  it("refuses another node's key for a pod's status, logs and delete with 403", async () => {
    const other = keyOf("other-node");
    const status = await call(`${hub}/namespaces/default/pods/reporter/status`, {}, other);
    const logs = await call(`${hub}/namespaces/default/pods/reporter/containers/reporter/logs`, {}, other);
    const removal = await call(
      `${hub}/namespaces/default/pods/reporter?uid=uid-reporter`,
      { method: "DELETE" },
      other,
    );
    expect([status.status, logs.status, removal.status]).toEqual([403, 403, 403]);
    expect(((await status.json()) as ProviderError).error.code).toBe("PodOfAnotherNode");
    expect((await podStatus("reporter")).name).toBe("reporter"); // still there, still its own node's
  });

  it("reads logs only from a device the pod's deployment targets: another device is refused with 403", async () => {
    const pod = podFixture({
      name: "narrow",
      uid: "uid-narrow",
      container: "narrow",
      image: "example.azurecr.io/narrow:1",
    });
    pod.metadata!.annotations = { [annotations.targetCondition]: "deviceId='dev-1'" };
    expect((await putPod(pod)).status).toBe(201);
    await waitUntilOnHub("narrow");
    await simulator.fleet.evaluateNow();
    const logs = (query: string) =>
      call(`${hub}/namespaces/default/pods/narrow/containers/narrow/logs?${query}`);
    // the device is targeted (on its $edgeAgent twin) a moment before its module starts and writes lines
    const targeted = await eventually(
      async () => {
        const response = await logs("device=dev-1&tail=2&timestamps=true");
        return {
          status: response.status,
          device: response.headers.get("x-device-id"),
          text: await response.text(),
        };
      },
      (response) => response.status === 200 && response.text !== "",
      { attempts: 300, intervalMs: 100 },
    );
    expect(targeted.device).toBe("dev-1");
    for (const line of targeted.text.trimEnd().split("\n"))
      expect(line).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z <\d> /);
    for (const device of ["dev-2", "dev-99"]) {
      const refused = await logs(`device=${device}`);
      expect(refused.status).toBe(403);
      expect(((await refused.json()) as ProviderError).error).toMatchObject({
        code: "DeviceNotTargeted",
        message: `device "${device}" is not targeted by pod default/narrow's deployment`,
      });
    }
    // without a device: the first one where its own deployment's module runs, never another pod's
    const chosen = await eventually(
      () => logs("tail=1"),
      (response) => response.status === 200,
      { attempts: 300, intervalMs: 100 },
    );
    expect(chosen.headers.get("x-device-id")).toBe("dev-1");
  });

  it("refuses a logs request whose tail is not a number, naming the field", async () => {
    const response = await call(`${hub}/namespaces/default/pods/reporter/containers/reporter/logs?tail=many`);
    expect(response.status).toBe(400);
    expect(((await response.json()) as ProviderError).error.field).toBe("tail");
  });

  it("the same PUT twice is a no-op answered 200", async () => {
    const pod = podFixture({ name: "twice", uid: "uid-twice" });
    expect((await putPod(pod)).status).toBe(201);
    const second = await putPod(pod);
    expect(second.status).toBe(200);
  });

  it("a delete removes the pod from the node's list and its configuration from the hub", async () => {
    const pod = podFixture({
      name: "leaving",
      uid: "uid-leaving",
      image: "example.azurecr.io/leaving:1",
      container: "leaving",
    });
    expect((await putPod(pod)).status).toBe(201);
    const { configurationId } = await waitUntilOnHub("leaving");
    const deleted = await call(`${hub}/namespaces/default/pods/leaving?uid=uid-leaving`, {
      method: "DELETE",
    });
    expect(deleted.status).toBe(202);
    await eventually(
      async () => ((await (await call(`${hub}/nodes/${node}/pods`)).json()) as NodePodsResponse).pods,
      (pods) => !pods.some((pod) => pod.name === "leaving"),
      { attempts: 300, intervalMs: 100 },
    );
    await eventually(listConfigurationIds, (ids) => !ids.includes(configurationId!), {
      attempts: 300,
      intervalMs: 100,
    });
  });

  it("a replica that arrives when its configuration is on the hub is scheduled at once, and the deletes of all replicas remove the configuration", async () => {
    const replica = (name: string) => {
      const pod = podFixture({
        name,
        uid: `uid-${name}`,
        image: "example.azurecr.io/twin:1",
        container: "twin",
      });
      pod.metadata!.ownerReferences = [
        {
          apiVersion: "apps/v1",
          kind: "ReplicaSet",
          name: "twin-7d9f8c",
          uid: "uid-rs-twin",
          controller: true,
        },
      ];
      return pod;
    };
    expect((await putPod(replica("twin-a"))).status).toBe(201);
    const { configurationId } = await waitUntilOnHub("twin-a");
    // the app's view of the scheduler is read at most once a second: the next PUT sees it on the hub
    await new Promise((resolve) => setTimeout(resolve, 1_100));
    const second = await putPod(replica("twin-b"));
    expect(second.status).toBe(201);
    const answered = (await second.json()) as ProviderPodStatus;
    expect(answered.configurationId).toBe(configurationId);
    expect(answered.status.conditions).toContainEqual(
      expect.objectContaining({ type: "PodScheduled", status: "True" }),
    );
    const remove = async (name: string) =>
      expect(
        (await call(`${hub}/namespaces/default/pods/${name}?uid=uid-${name}`, { method: "DELETE" })).status,
      ).toBe(202);
    // its want reached the scheduler: with the first replica gone (no grace here), the configuration stays for it
    await remove("twin-a");
    await new Promise((resolve) => setTimeout(resolve, 2_000));
    expect(await listConfigurationIds()).toContain(configurationId);
    await remove("twin-b");
    await eventually(listConfigurationIds, (ids) => !ids.includes(configurationId!), {
      attempts: 300,
      intervalMs: 100,
    });
  });

  it("node reconcile deletes the pods the cluster no longer has and keeps the others", async () => {
    const reconcileNode = "reconcile-node";
    const key = keyOf(reconcileNode);
    const put = (name: string) =>
      call(
        `${hub}/namespaces/default/pods/${name}`,
        {
          method: "PUT",
          body: JSON.stringify({
            node: reconcileNode,
            pod: podFixture({ name, uid: `uid-${name}`, container: name }),
          }),
        },
        key,
      );
    expect((await put("kept")).status).toBe(201);
    expect((await put("orphan")).status).toBe(201);
    const response = await call(
      `${hub}/nodes/${reconcileNode}/reconcile`,
      { method: "POST", body: JSON.stringify({ pods: ["default/kept/uid-kept"] }) },
      key,
    );
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ deleted: ["default/orphan/uid-orphan"] });
    const pods = await eventually(
      async () =>
        ((await (await call(`${hub}/nodes/${reconcileNode}/pods`, {}, key)).json()) as NodePodsResponse).pods,
      (list) => list.length === 1,
      { attempts: 300, intervalMs: 100 },
    );
    expect(pods.map((pod) => pod.name)).toEqual(["kept"]);
  });

  it("keeps two clusters' nodes of the same name apart: one's reconcile with no pods leaves the other's", async () => {
    const otherCluster = keyOf(node, "cluster-b");
    const listOf = async (key: string) =>
      ((await (await call(`${hub}/nodes/${node}/pods`, {}, key)).json()) as NodePodsResponse).pods
        .map((pod) => pod.name)
        .sort();
    const ours = await listOf(keyOf(node));
    expect(ours).toContain("reporter");
    const theirs = await putPod(podFixture({ name: "cluster-b-pod", uid: "uid-cluster-b" }), undefined, {
      node,
      key: otherCluster,
    });
    expect(theirs.status).toBe(201);
    expect(await listOf(otherCluster)).toEqual(["cluster-b-pod"]);
    // the same node name, the same hub: cluster b cannot see, take over or drop cluster a's pods
    expect(
      (
        await putPod(podFixture({ name: "reporter", uid: "uid-reporter" }), undefined, {
          node,
          key: otherCluster,
        })
      ).status,
    ).toBe(403);
    const reconciled = await call(
      `${hub}/nodes/${node}/reconcile`,
      { method: "POST", body: JSON.stringify({ pods: [] }) },
      otherCluster,
    );
    expect(await reconciled.json()).toEqual({ deleted: ["default/cluster-b-pod/uid-cluster-b"] });
    expect(await listOf(keyOf(node))).toEqual(ours);
  });

  it("answers node conditions from the status pipeline while the hub answers 429 to everything: reachable, counted, no Ready", async () => {
    simulator.faults.throttleNext(1_000, 1);
    try {
      const response = await call(`${hub}/nodes/${node}/conditions`);
      expect(response.status).toBe(200);
      const body = (await response.json()) as NodeConditionsResponse;
      expect(body.conditions.map((c) => c.type)).not.toContain("Ready");
      expect(body).toMatchObject({ hubReachable: true, devicesTotal: 3 });
      expect(body.conditions.find((c) => c.type === "HubReachable")).toMatchObject({
        status: "True",
        reason: "HubReachable",
      });
    } finally {
      simulator.faults.throttleNext(0);
    }
  });

  it("reports node conditions: hub reachable, devices total and connected, and no Ready (the adapter's own)", async () => {
    const response = await call(`${hub}/nodes/${node}/conditions`);
    expect(response.status).toBe(200);
    const body = (await response.json()) as NodeConditionsResponse;
    expect(body).toMatchObject({ hubReachable: true, devicesTotal: 3, devicesConnected: 3 });
    expect(body.conditions.map((c) => [c.type, c.status, c.reason])).toEqual([
      ["HubReachable", "True", "HubReachable"],
      ["DeploymentCapacity", "True", "DeploymentSlotsFree"],
    ]);
  });
});
