// The provider API through the local host running the app's own registrations (TypeScript entry
// files through tsx), with Azurite for durable state and pod records, and the IoT Hub simulator.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { HubClient } from "../../lib/hub/hubClient.js";
import type { NodePodsResponse, ProviderError } from "../../lib/provider/providerContract.js";
import type { RunningSimulator } from "../../dev/simulator/simulator.js";
import { eventually } from "../support/testSimulator.js";
import { podFixture } from "../provider/providerFixtures.js";
import { hub, node, startAppHarness, type AppHarness } from "./appHarness.js";

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

  it("answers 404 for a hub the app does not serve", async () => {
    const response = await call(`other-hub/nodes/${node}/pods`);
    expect(response.status).toBe(404);
    expect(((await response.json()) as ProviderError).error.code).toBe("HubNotFound");
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
    const refusedPod = (name: string) => {
      const pod = podFixture({ name, uid: `uid-${name}` });
      pod.spec!.initContainers = [{ name: "setup", image: "busybox" }];
      return { node: quietNode, pod, resolved: { configMaps: {}, secrets: {} } };
    };
    const put = (name: string) =>
      call(`${hub}/namespaces/default/pods/${name}`, {
        method: "PUT",
        body: JSON.stringify(refusedPod(name)),
      });
    const list = () => call(`${hub}/nodes/${quietNode}/pods`);
    expect((await put("quiet-1")).status).toBe(201);
    await eventually(
      () => podStatus("quiet-1"),
      (s) => s.status.phase === "Failed",
      { attempts: 300, intervalMs: 100 },
    );
    const first = await list();
    const etag = first.headers.get("etag")!;
    expect(etag).toBe(`"${((await first.json()) as NodePodsResponse).version}"`);
    const unchanged = await call(`${hub}/nodes/${quietNode}/pods`, { headers: { "if-none-match": etag } });
    expect(unchanged.status).toBe(304);

    expect((await put("quiet-2")).status).toBe(201);
    const changed = await call(`${hub}/nodes/${quietNode}/pods`, { headers: { "if-none-match": etag } });
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

  it("node reconcile deletes the pods the cluster no longer has and keeps the others", async () => {
    const reconcileNode = "reconcile-node";
    const put = (name: string) =>
      call(`${hub}/namespaces/default/pods/${name}`, {
        method: "PUT",
        body: JSON.stringify({
          node: reconcileNode,
          pod: podFixture({ name, uid: `uid-${name}`, container: name }),
        }),
      });
    expect((await put("kept")).status).toBe(201);
    expect((await put("orphan")).status).toBe(201);
    const response = await call(`${hub}/nodes/${reconcileNode}/reconcile`, {
      method: "POST",
      body: JSON.stringify({ pods: ["default/kept/uid-kept"] }),
    });
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ deleted: ["default/orphan/uid-orphan"] });
    const pods = await eventually(
      async () =>
        ((await (await call(`${hub}/nodes/${reconcileNode}/pods`)).json()) as NodePodsResponse).pods,
      (list) => list.length === 1,
      { attempts: 300, intervalMs: 100 },
    );
    expect(pods.map((pod) => pod.name)).toEqual(["kept"]);
  });

  it("reports node conditions: hub reachable, devices total and connected", async () => {
    const response = await call(`${hub}/nodes/${node}/conditions`);
    expect(response.status).toBe(200);
    const body = (await response.json()) as {
      hubReachable: boolean;
      devicesTotal: number;
      devicesConnected: number;
    };
    expect(body).toMatchObject({ hubReachable: true, devicesTotal: 3, devicesConnected: 3 });
  });
});
