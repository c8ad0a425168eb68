// The kubelet API over real TLS: client certificates checked against a kubelet client CA made per
// run, the kubelet's request-to-attributes mapping, and the routes (logs with their options and
// `follow`, exec refused). Authorization itself (TokenReview, SubjectAccessReview) needs an
// apiserver: test/adapter/e2e.security.test.ts runs it against the real control plane; here a
// stand-in decides from the verified certificate alone.
import { mkdir, mkdtemp, readFile, rm } from "node:fs/promises";
import type { IncomingMessage } from "node:http";
import { request, type Server } from "node:https";
import { connect, type TLSSocket } from "node:tls";
import { tmpdir } from "node:os";
import path from "node:path";
import type { V1Pod } from "@kubernetes/client-node";
import { pino } from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createClusterCertificates, type ClusterCertificates } from "../../dev/cluster/certificates.js";
import { selfSignedCertificate } from "../../dev/connector/servingCertificate.js";
import {
  certificateUser,
  nodeRequestAttributes,
  type AccessDecision,
  type KubeletAccessCheck,
} from "../../lib/adapter/kubeletAccess.js";
import { startKubeletServer } from "../../lib/adapter/kubeletServer.js";
import type { ContainerLogs, ContainerLogsQuery, PodProvider } from "../../lib/adapter/podProvider.js";
import { ProviderCallError } from "../../lib/adapter/podProvider.js";
import { annotations } from "../../lib/translate/annotations.js";

const NODE = "vk-kubelet-api";
const pods: V1Pod[] = [
  {
    metadata: { namespace: "default", name: "sensor-1", uid: "u1" },
    spec: { containers: [{ name: "sensor", image: "sensor:1" }] },
  },
  {
    metadata: {
      namespace: "default",
      name: "pinned",
      uid: "u2",
      annotations: { [annotations.logsDevice]: "dev-9" },
    },
    spec: { containers: [{ name: "sensor", image: "sensor:1" }] },
  },
];

describe("the kubelet's request attributes", () => {
  it.each([
    ["GET", "/containerLogs/default/p/c", "get", ["proxy"]],
    ["POST", "/exec/default/p/c", "create", ["proxy"]],
    ["GET", "/logs/", "get", ["log"]],
    ["GET", "/logs/syslog", "get", ["log"]],
    ["GET", "/stats/summary", "get", ["stats"]],
    ["GET", "/metrics/cadvisor", "get", ["metrics"]],
    ["GET", "/spec/", "get", ["spec"]],
    ["POST", "/checkpoint/default/p/c", "create", ["checkpoint"]],
    ["GET", "/pods", "get", ["pods", "proxy"]],
    ["GET", "/healthz", "get", ["healthz", "proxy"]],
    ["GET", "/configz", "get", ["configz", "proxy"]],
    ["PUT", "/logsx", "update", ["proxy"]],
    ["DELETE", "/statsfoo", "delete", ["proxy"]],
  ])("maps %s %s to verb %s on nodes/%j", (method, path, verb, subresources) => {
    expect(nodeRequestAttributes(method, path, NODE)).toEqual({ verb, node: NODE, subresources });
  });
});

/** Decides from the verified client certificate: 401 without one, 403 unless its user is allowed. */
function certificateAccess(allowedUsers: string[]): KubeletAccessCheck {
  return {
    decide(incoming: IncomingMessage): Promise<AccessDecision> {
      const user = certificateUser(incoming.socket as TLSSocket);
      if (user === undefined)
        return Promise.resolve({ allowed: false, status: 401, message: "Unauthorized" });
      if (!allowedUsers.includes(user.name))
        return Promise.resolve({ allowed: false, status: 403, message: `Forbidden (user=${user.name})` });
      return Promise.resolve({ allowed: true, user });
    },
  };
}

type Answer = (namespace: string, name: string, query: ContainerLogsQuery) => Promise<ContainerLogs>;

describe("kubelet API server over TLS", () => {
  let dir: string;
  let certs: ClusterCertificates;
  let otherCa: ClusterCertificates;
  let server: Server;
  let port: number;
  let serverCa: string;
  let answerLogs: Answer;
  const queries: ContainerLogsQuery[] = [];

  beforeAll(async () => {
    dir = await mkdtemp(path.join(tmpdir(), "kubelet-api-"));
    // the apiserver's kubelet client certificate (CN=kube-apiserver-kubelet-client), and a stranger's
    certs = await createClusterCertificates(dir, "10.96.0.1");
    await mkdir(path.join(dir, "other"));
    otherCa = await createClusterCertificates(path.join(dir, "other"), "10.96.0.1");
    const tls = await selfSignedCertificate(dir);
    serverCa = await readFile(tls.certPath, "utf8");
    const provider = {
      containerLogs: (namespace: string, name: string, query: ContainerLogsQuery) => {
        queries.push(query);
        return answerLogs(namespace, name, query);
      },
    } as unknown as PodProvider;
    server = await startKubeletServer({
      provider,
      getPod: (namespace, name) =>
        pods.find((p) => p.metadata?.namespace === namespace && p.metadata.name === name),
      listPods: () => pods,
      logger: pino({ level: "silent" }),
      access: certificateAccess(["kube-apiserver-kubelet-client"]),
      followPollMs: 20,
      cert: await readFile(tls.certPath),
      key: await readFile(tls.keyPath),
      clientCa: await readFile(certs.caCertPath),
      host: "127.0.0.1",
      port: 0,
    });
    const address = server.address();
    port = address && typeof address === "object" ? address.port : 0;
  });

  afterAll(async () => {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
    await rm(dir, { recursive: true, force: true });
  });

  const apiserverIdentity = async (from = () => certs) => ({
    cert: await readFile(from().kubeletClientCertPath),
    key: await readFile(from().kubeletClientKeyPath),
  });

  /** A GET as the apiserver makes it (its kubelet client certificate), or with `identity` given. */
  async function get(
    pathAndQuery: string,
    identity: { cert?: Buffer; key?: Buffer } | undefined = undefined,
    readUntil?: (text: string) => boolean,
  ): Promise<{ status: number; body: string }> {
    const client = identity ?? (await apiserverIdentity());
    return new Promise((resolve, reject) => {
      const req = request(
        { host: "127.0.0.1", port, path: pathAndQuery, ca: serverCa, ...client },
        (response) => {
          let text = "";
          response.on("data", (chunk: Buffer) => {
            text += chunk.toString();
            if (readUntil?.(text)) {
              resolve({ status: response.statusCode ?? 0, body: text });
              req.destroy();
            }
          });
          response.on("end", () => resolve({ status: response.statusCode ?? 0, body: text }));
        },
      );
      req.on("error", reject);
      req.end();
    });
  }

  const lines = (...text: string[]) => ({
    deviceId: "dev-1",
    text: text.map((line) => `${line}\n`).join(""),
  });

  it("answers 401 to a request without a client certificate, and to one signed by another CA", async () => {
    expect(await get("/containerLogs/default/sensor-1/sensor", {})).toEqual({
      status: 401,
      body: "Unauthorized",
    });
    const stranger = await apiserverIdentity(() => otherCa);
    expect((await get("/containerLogs/default/sensor-1/sensor", stranger)).status).toBe(401);
  });

  it("serves container logs to the apiserver's client certificate, passing tail, since, timestamps and a device", async () => {
    answerLogs = () =>
      Promise.resolve(lines("2026-01-01T00:00:00.000Z line 1", "2026-01-01T00:00:01.000Z line 2"));
    queries.length = 0;
    const answer = await get(
      "/containerLogs/default/sensor-1/sensor?tailLines=2&sinceSeconds=60&timestamps=true&device=dev-7",
    );
    expect(answer).toEqual({
      status: 200,
      body: "2026-01-01T00:00:00.000Z line 1\n2026-01-01T00:00:01.000Z line 2\n",
    });
    expect(queries).toEqual([
      { container: "sensor", device: "dev-7", tailLines: 2, since: "60s", timestamps: true },
    ]);
  });

  it("reads from the device the pod's annotation names when the request names none, and takes sinceTime", async () => {
    answerLogs = () => Promise.resolve(lines("a"));
    queries.length = 0;
    await get("/containerLogs/default/pinned/sensor?sinceTime=2026-01-01T10:00:00Z");
    expect(queries).toEqual([
      { container: "sensor", device: "dev-9", since: "2026-01-01T10:00:00Z", timestamps: false },
    ]);
  });

  it("cuts the answer at limitBytes", async () => {
    answerLogs = () => Promise.resolve(lines("0123456789", "abcdefghij"));
    expect(await get("/containerLogs/default/sensor-1/sensor?limitBytes=15")).toEqual({
      status: 200,
      body: "0123456789\nabcd",
    });
  });

  it.each([
    ["tailLines=-3", 'tailLines must be a whole number, got "-3"'],
    ["sinceSeconds=0", 'sinceSeconds must be a whole number ≥ 1, got "0"'],
    ["sinceSeconds=5&sinceTime=2026-01-01T00:00:00Z", "sinceSeconds and sinceTime cannot both be given"],
    ["sinceTime=yesterday", 'sinceTime must be an RFC 3339 time, got "yesterday"'],
    ["previous=true", "previous: IoT Edge restarts a module in place and keeps no earlier container's logs"],
  ])("refuses %s with 400 naming the parameter", async (query, message) => {
    queries.length = 0;
    expect(await get(`/containerLogs/default/sensor-1/sensor?${query}`)).toEqual({
      status: 400,
      body: message,
    });
    expect(queries).toEqual([]);
  });

  it("answers with the provider's own status when it refuses a device the pod does not target", async () => {
    answerLogs = () =>
      Promise.reject(
        new ProviderCallError(
          "containerLogs",
          403,
          `device "dev-x" is not targeted by pod default/sensor-1's deployment`,
        ),
      );
    expect(await get("/containerLogs/default/sensor-1/sensor?device=dev-x")).toEqual({
      status: 403,
      body: `device "dev-x" is not targeted by pod default/sensor-1's deployment`,
    });
  });

  it("answers 502 with the provider's reason when the logs cannot be fetched", async () => {
    answerLogs = () =>
      Promise.reject(new ProviderCallError("containerLogs", 504, "device dev-1 did not answer"));
    const answer = await get("/containerLogs/default/sensor-1/sensor");
    expect(answer.status).toBe(502);
    expect(answer.body).toContain("device dev-1 did not answer");
  });

  it("answers 404 for a pod not on this node or a container not in the pod", async () => {
    expect(await get("/containerLogs/default/other/sensor")).toEqual({
      status: 404,
      body: "pod default/other is not on this node",
    });
    expect(await get("/containerLogs/default/sensor-1/nope")).toEqual({
      status: 404,
      body: 'container "nope" is not in pod default/sensor-1',
    });
  });

  it("follows a container's log from the same device, each new line once, without the times it was not asked for", async () => {
    const base = Date.parse("2026-01-01T00:00:00Z");
    let polls = 0;
    queries.length = 0;
    answerLogs = (_namespace, _name, query) => {
      polls += 1;
      // every answer repeats the line at the time it was asked from, as GetModuleLogs does
      const from = query.since === undefined || query.since.endsWith("s") ? base : Number(query.since) * 1000;
      const upTo = base + Math.min(polls, 4) * 1000;
      const text: string[] = [];
      for (let t = from; t <= upTo; t += 1000)
        text.push(`${new Date(t).toISOString()} message at ${(t - base) / 1000}`);
      return Promise.resolve({ deviceId: "dev-3", text: text.map((line) => `${line}\n`).join("") });
    };
    const answer = await get("/containerLogs/default/sensor-1/sensor?follow=true", undefined, (text) =>
      text.includes("message at 4\n"),
    );
    expect(answer.body).toBe(
      ["message at 0", "message at 1", "message at 2", "message at 3", "message at 4"]
        .map((l) => `${l}\n`)
        .join(""),
    );
    expect(queries[0]).toMatchObject({ container: "sensor", timestamps: true });
    expect(queries.slice(1).every((query) => query.device === "dev-3" && query.timestamps === true)).toBe(
      true,
    );
  });

  it("serves the node's pod list and /healthz, and 404 for what a virtual node does not have", async () => {
    const list = await get("/pods");
    expect(JSON.parse(list.body)).toMatchObject({
      kind: "PodList",
      items: [{ metadata: { name: "sensor-1" } }, {}],
    });
    expect(await get("/healthz")).toEqual({ status: 200, body: "ok" });
    expect((await get("/stats/summary")).status).toBe(404);
    expect((await get("/logs/")).status).toBe(404);
  });

  it.each(["exec", "attach", "portForward", "run"])(
    "answers /%s with 501: not supported by IoT Edge",
    async (operation) => {
      const answer = await get(`/${operation}/default/sensor-1/sensor?command=ls`);
      expect(answer.status).toBe(501);
      expect(answer.body).toMatch(new RegExp(`^${operation} is not supported by IoT Edge`));
    },
  );

  /** Raw upgrade request (as kubectl exec sends it through the apiserver), and the raw answer. */
  async function upgrade(identity: { cert?: Buffer; key?: Buffer }): Promise<string> {
    return new Promise((resolve, reject) => {
      const socket = connect(
        { host: "127.0.0.1", port, ca: serverCa, servername: "localhost", ...identity },
        () => {
          socket.write(
            "POST /exec/default/sensor-1/sensor?command=sh HTTP/1.1\r\nHost: kubelet\r\nConnection: Upgrade\r\nUpgrade: SPDY/3.1\r\n\r\n",
          );
        },
      );
      let text = "";
      socket.on("data", (chunk: Buffer) => (text += chunk.toString()));
      socket.on("close", () => resolve(text));
      socket.on("error", reject);
    });
  }

  it("answers an exec upgrade with 501 and closes the connection, and an unauthenticated one with 401", async () => {
    const raw = await upgrade(await apiserverIdentity());
    expect(raw).toMatch(/^HTTP\/1\.1 501 Not Implemented/);
    expect(raw).toContain("exec is not supported by IoT Edge");
    expect(await upgrade({})).toMatch(/^HTTP\/1\.1 401 Unauthorized/);
  });
});
