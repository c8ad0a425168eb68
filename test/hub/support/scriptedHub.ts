// A tiny HTTPS server that answers azure-iothub's requests from a script, for the failures the
// simulator cannot stage on demand: an answer lost after the hub acted, a reset socket, a hang, an
// error body that echoes the caller's token. Like the simulator it listens on 443 of a loopback
// address (azure-iothub cannot use another port) with a certificate from the simulator's local CA,
// which the client trusts through its `trustedCa` option.

import { createServer } from "node:https";
import type { IncomingMessage, ServerResponse } from "node:http";
import type { Socket } from "node:net";
import { randomBytes } from "node:crypto";
import { ensureLocalCa, issueServerCertificate } from "../../../dev/simulator/certificates.js";
import { freeLoopbackHost } from "../../../dev/simulator/loopbackHost.js";

export interface RecordedRequest {
  method: string;
  /** Path without the api-version query. */
  path: string;
  headers: IncomingMessage["headers"];
  body: unknown;
}

export type ScriptedAnswer =
  | { status: number; body?: unknown; headers?: Record<string, string> }
  /** Destroy the connection without answering (ECONNRESET / socket hang up at the client). */
  | "reset"
  /** Never answer. */
  | "hang";

export type Script = (request: RecordedRequest, index: number) => ScriptedAnswer;

export interface ScriptedHub {
  host: string;
  /** A connection string for the hub with this key. */
  connectionString: string;
  sharedAccessKey: string;
  trustedCa: string;
  requests: RecordedRequest[];
  setScript(script: Script): void;
  stop(): Promise<void>;
}

/** An IoT Hub style error body ("ErrorCode:<code>;<message>"). */
export function hubErrorBody(code: string, message: string): { Message: string; ExceptionMessage: string } {
  return {
    Message: `ErrorCode:${code};${message}`,
    ExceptionMessage: "Tracking ID:0-G:0-TimeStamp:11/25/2026 12:00:00",
  };
}

function readBody(request: IncomingMessage): Promise<unknown> {
  return new Promise((resolve, reject) => {
    let text = "";
    request.setEncoding("utf8");
    request.on("data", (chunk: string) => (text += chunk));
    request.on("end", () => resolve(text ? JSON.parse(text) : undefined));
    request.on("error", reject);
  });
}

export async function startScriptedHub(
  script: Script = () => ({ status: 200, body: {} }),
): Promise<ScriptedHub> {
  const requests: RecordedRequest[] = [];
  const sockets = new Set<Socket>();
  let current = script;

  const server = createServer((request, response: ServerResponse) => {
    void (async () => {
      const recorded: RecordedRequest = {
        method: request.method ?? "",
        path: (request.url ?? "").split("?")[0] ?? "",
        headers: request.headers,
        body: await readBody(request),
      };
      requests.push(recorded);
      const answer = current(recorded, requests.length - 1);
      if (answer === "reset") return request.socket.destroy();
      if (answer === "hang") return;
      response.writeHead(answer.status, {
        "content-type": "application/json; charset=utf-8",
        ...answer.headers,
      });
      response.end(answer.body === undefined ? "" : JSON.stringify(answer.body));
    })();
  });
  server.on("secureConnection", (socket: Socket) => {
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
  });
  const host = await freeLoopbackHost();
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(443, host, () => resolve());
  });
  const ca = await ensureLocalCa();
  const certificate = await issueServerCertificate(ca, host);
  server.setSecureContext({ cert: certificate.certPem, key: certificate.keyPem });

  const sharedAccessKey = randomBytes(32).toString("base64");
  return {
    host,
    connectionString: `HostName=${host};SharedAccessKeyName=iothubowner;SharedAccessKey=${sharedAccessKey}`,
    sharedAccessKey,
    trustedCa: ca.certPem,
    requests,
    setScript: (next) => (current = next),
    stop: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}
