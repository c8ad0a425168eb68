import { mkdtemp, readFile, rm } from "node:fs/promises";
import { request } from "node:https";
import type { Server } from "node:https";
import { connect } from "node:tls";
import { tmpdir } from "node:os";
import path from "node:path";
import type { V1Pod } from "@kubernetes/client-node";
import { pino } from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  answerKubeletRequest,
  startKubeletServer,
  type KubeletApiOptions,
} from "../../lib/adapter/kubeletServer.js";
import type { ContainerLogsQuery, PodProvider } from "../../lib/adapter/podProvider.js";
import { ProviderCallError } from "../../lib/adapter/podProvider.js";
import { selfSignedCertificate } from "../../dev/connector/servingCertificate.js";

const pod: V1Pod = {
  metadata: { namespace: "default", name: "sensor-1", uid: "u1" },
  spec: { containers: [{ name: "sensor", image: "sensor:1" }] },
};

/** The provider's logs route only; anything else the kubelet API must not call. */
function logsProvider(answer: (query: ContainerLogsQuery) => Promise<string>) {
  const queries: ContainerLogsQuery[] = [];
  const provider = {
    containerLogs: (_namespace: string, _name: string, query: ContainerLogsQuery) => {
      queries.push(query);
      return answer(query);
    },
  } as unknown as PodProvider;
  return { provider, queries };
}

function options(provider: PodProvider): KubeletApiOptions {
  return {
    provider,
    getPod: (namespace, name) => (namespace === "default" && name === "sensor-1" ? pod : undefined),
    listPods: () => [pod],
    logger: pino({ level: "silent" }),
  };
}

describe("kubelet API routes", () => {
  it("passes tailLines, sinceSeconds, timestamps and a device to the provider's logs route", async () => {
    const { provider, queries } = logsProvider(() => Promise.resolve("line 1\nline 2\n"));
    const answer = await answerKubeletRequest(
      "GET",
      "/containerLogs/default/sensor-1/sensor?tailLines=2&sinceSeconds=60&timestamps=true&device=dev-7",
      options(provider),
    );
    expect(answer).toMatchObject({ status: 200, body: "line 1\nline 2\n" });
    expect(queries).toEqual([
      { container: "sensor", device: "dev-7", tailLines: 2, sinceSeconds: 60, timestamps: true },
    ]);
  });

  it("refuses a tailLines that is not a whole number, naming the parameter", async () => {
    const { provider, queries } = logsProvider(() => Promise.resolve(""));
    const answer = await answerKubeletRequest(
      "GET",
      "/containerLogs/default/sensor-1/sensor?tailLines=-3",
      options(provider),
    );
    expect(answer).toEqual({ status: 400, body: 'tailLines must be a whole number, got "-3"' });
    expect(queries).toEqual([]);
  });

  it("answers 404 for a pod not on this node or a container not in the pod", async () => {
    const { provider } = logsProvider(() => Promise.resolve(""));
    expect(
      await answerKubeletRequest("GET", "/containerLogs/default/other/sensor", options(provider)),
    ).toMatchObject({
      status: 404,
      body: "pod default/other is not on this node",
    });
    expect(
      await answerKubeletRequest("GET", "/containerLogs/default/sensor-1/nope", options(provider)),
    ).toMatchObject({
      status: 404,
      body: 'container "nope" is not in pod default/sensor-1',
    });
  });

  it("answers 502 with the provider's reason when the logs cannot be fetched", async () => {
    const { provider } = logsProvider(() =>
      Promise.reject(new ProviderCallError("containerLogs", 504, "device dev-1 did not answer")),
    );
    const answer = await answerKubeletRequest(
      "GET",
      "/containerLogs/default/sensor-1/sensor",
      options(provider),
    );
    expect(answer.status).toBe(502);
    expect(answer.body).toContain("device dev-1 did not answer");
  });

  it.each(["exec", "attach", "portForward", "run"])(
    "answers /%s with 501: not supported by IoT Edge",
    async (operation) => {
      const { provider } = logsProvider(() => Promise.resolve(""));
      const answer = await answerKubeletRequest(
        "POST",
        `/${operation}/default/sensor-1/sensor?command=ls`,
        options(provider),
      );
      expect(answer.status).toBe(501);
      expect(answer.body).toMatch(new RegExp(`^${operation} is not supported by IoT Edge`));
    },
  );

  it("serves /healthz and the node's pod list, and 404 for anything else", async () => {
    const { provider } = logsProvider(() => Promise.resolve(""));
    expect(await answerKubeletRequest("GET", "/healthz", options(provider))).toMatchObject({
      status: 200,
      body: "ok",
    });
    const pods = await answerKubeletRequest("GET", "/pods", options(provider));
    expect(JSON.parse(pods.body)).toMatchObject({
      kind: "PodList",
      items: [{ metadata: { name: "sensor-1" } }],
    });
    expect((await answerKubeletRequest("GET", "/stats/summary", options(provider))).status).toBe(404);
  });
});

describe("kubelet API server over TLS", () => {
  let dir: string;
  let server: Server;
  let port: number;
  let ca: string;

  beforeAll(async () => {
    dir = await mkdtemp(path.join(tmpdir(), "kubelet-api-"));
    const tls = await selfSignedCertificate(dir);
    ca = await readFile(tls.certPath, "utf8");
    const { provider } = logsProvider((query) => Promise.resolve(`tail ${query.tailLines}\n`));
    server = await startKubeletServer({
      ...options(provider),
      cert: await readFile(tls.certPath),
      key: await readFile(tls.keyPath),
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

  it("serves container logs over HTTPS", async () => {
    const body = await new Promise<string>((resolve, reject) => {
      request(
        { host: "127.0.0.1", port, path: "/containerLogs/default/sensor-1/sensor?tailLines=3", ca },
        (response) => {
          let text = "";
          response.on("data", (chunk: Buffer) => (text += chunk.toString()));
          response.on("end", () => resolve(`${response.statusCode} ${text}`));
        },
      )
        .on("error", reject)
        .end();
    });
    expect(body).toBe("200 tail 3\n");
  });

  it("answers an exec upgrade with 501 and closes the connection", async () => {
    const raw = await new Promise<string>((resolve, reject) => {
      const socket = connect({ host: "127.0.0.1", port, ca, servername: "localhost" }, () => {
        socket.write(
          "POST /exec/default/sensor-1/sensor?command=sh HTTP/1.1\r\nHost: kubelet\r\nConnection: Upgrade\r\nUpgrade: SPDY/3.1\r\n\r\n",
        );
      });
      let text = "";
      socket.on("data", (chunk: Buffer) => (text += chunk.toString()));
      socket.on("close", () => resolve(text));
      socket.on("error", reject);
    });
    expect(raw).toMatch(/^HTTP\/1\.1 501 Not Implemented/);
    expect(raw).toContain("exec is not supported by IoT Edge");
  });
});
