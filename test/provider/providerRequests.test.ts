// The provider API's request checks: the envelope only, every refusal naming the field.
import { describe, expect, it } from "vitest";
import { podInstanceId } from "../../lib/provider/podIdentity.js";
import { ProviderHttpError } from "../../lib/provider/providerErrors.js";
import { parseLogsQuery, parseNodeReconcile, parsePutPod } from "../../lib/provider/providerRequests.js";
import { specHash } from "../../lib/provider/providerService.js";
import { withTimestamps } from "../../lib/provider/moduleLogLines.js";
import { podFixture } from "./providerFixtures.js";

const route = { namespace: "default", name: "sensor" };

function refusal(run: () => unknown): ProviderHttpError {
  try {
    run();
  } catch (error) {
    if (error instanceof ProviderHttpError) return error;
    throw error;
  }
  throw new Error("expected a ProviderHttpError");
}

describe("provider requests", () => {
  it("accepts a pod the translator would refuse: only the envelope is checked", () => {
    const pod = podFixture();
    pod.spec!.initContainers = [{ name: "setup", image: "busybox" }];
    const request = parsePutPod({ node: "edge-node", pod }, route);
    expect(request.resolved).toEqual({ configMaps: {}, secrets: {} });
    expect(request.pod.spec?.initContainers).toHaveLength(1);
  });

  it("refuses a body nested deeper than any pod before anything walks it", () => {
    const pod = podFixture();
    let deep: Record<string, unknown> = {};
    const root = deep;
    for (let level = 0; level < 10_000; level += 1) deep = deep.a = {};
    (pod.spec as unknown as Record<string, unknown>).extra = root;
    expect(refusal(() => parsePutPod({ node: "edge-node", pod }, route)).body).toMatchObject({
      code: "InvalidRequest",
      field: "(body)",
      message: "(body): nests more than 66 levels deep; a pod request nests about 12",
    });
  });

  it("takes a rollout stage of 1-99 % and refuses any other with the field path", () => {
    const pod = podFixture();
    expect(parsePutPod({ node: "edge-node", pod, rollout: { percent: 30 } }, route).rollout).toEqual({
      percent: 30,
    });
    expect(parsePutPod({ node: "edge-node", pod }, route)).not.toHaveProperty("rollout");
    for (const percent of [0, 100, 12.5, "30"]) {
      const error = refusal(() => parsePutPod({ node: "edge-node", pod, rollout: { percent } }, route));
      expect(error.body.field).toBe("rollout.percent");
    }
  });

  it("counts a new rollout stage as a changed spec, so the pod's orchestration moves it", () => {
    const pod = podFixture();
    const plain = specHash({ node: "edge-node", pod, resolved: { configMaps: {}, secrets: {} } });
    const staged = (percent: number) =>
      specHash({ node: "edge-node", pod, resolved: { configMaps: {}, secrets: {} }, rollout: { percent } });
    expect(new Set([plain, staged(10), staged(20)]).size).toBe(3);
    expect(staged(10)).toBe(staged(10));
  });

  it("refuses a missing node with the field and the reason", () => {
    const error = refusal(() => parsePutPod({ pod: podFixture() }, route));
    expect(error.status).toBe(400);
    expect(error.body.field).toBe("node");
  });

  it("refuses a node name that is no DNS subdomain", () => {
    expect(refusal(() => parsePutPod({ node: "Edge_Node", pod: podFixture() }, route)).body).toMatchObject({
      field: "node",
      message: expect.stringContaining("DNS subdomain"),
    });
  });

  it("names the path of a malformed resolved Secret", () => {
    const body = {
      node: "edge-node",
      pod: podFixture(),
      resolved: { configMaps: {}, secrets: { creds: { data: { key: 1 } } } },
    };
    expect(refusal(() => parsePutPod(body, route)).body.field).toBe("resolved.secrets.creds.data.key");
  });

  it("refuses a reconcile entry that is not namespace/name/uid", () => {
    expect(refusal(() => parseNodeReconcile({ pods: ["default/sensor"] })).body.field).toBe("pods[0]");
  });

  it("refuses a logs `since` that is neither a duration nor a time", () => {
    const error = refusal(() => parseLogsQuery(new URLSearchParams("since=yesterday")));
    expect(error.body.field).toBe("since");
    expect(parseLogsQuery(new URLSearchParams("since=15m&tail=20"))).toEqual({ since: "15m", tail: 20 });
  });

  it("reads timestamps=true from a logs query, and refuses any other word naming the field", () => {
    expect(parseLogsQuery(new URLSearchParams("timestamps=true&device=dev-1"))).toEqual({
      device: "dev-1",
      timestamps: true,
    });
    expect(parseLogsQuery(new URLSearchParams("timestamps=false"))).toEqual({});
    expect(refusal(() => parseLogsQuery(new URLSearchParams("timestamps=yes"))).body.field).toBe(
      "timestamps",
    );
  });

  it("prefixes IoT Edge log lines with their RFC 3339 time; a continuation line takes the time before it", () => {
    expect(
      withTimestamps([
        "<6> 2026-11-25 14:03:07.123 +00:00 [INF] - started",
        "    at a continuation line",
        "<4> 2026-11-25 16:03:08.5 +02:00 [WRN] - later, in another zone",
      ]),
    ).toEqual([
      "2026-11-25T14:03:07.123Z <6> 2026-11-25 14:03:07.123 +00:00 [INF] - started",
      "2026-11-25T14:03:07.123Z     at a continuation line",
      "2026-11-25T14:03:08.500Z <4> 2026-11-25 16:03:08.5 +02:00 [WRN] - later, in another zone",
    ]);
    expect(withTimestamps(["no time at all"])).toEqual(["no time at all"]);
  });

  it("derives a stable orchestration instance id that differs per uid and has no reserved characters", () => {
    const pod = { hub: "hub1", namespace: "default", name: "x".repeat(253), uid: "u1" };
    const id = podInstanceId(pod);
    expect(podInstanceId({ ...pod })).toBe(id);
    expect(podInstanceId({ ...pod, uid: "u2" })).not.toBe(id);
    expect(id).toMatch(/^[A-Za-z0-9._-]{1,100}$/);
  });
});
