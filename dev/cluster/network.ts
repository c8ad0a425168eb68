// Loopback helpers for the control plane: free ports and HTTPS probes that trust our CA.
import { request } from "node:https";
import { createServer } from "node:net";

export const LOOPBACK = "127.0.0.1";

/** A port free on the loopback address right now (the kernel picks it). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, LOOPBACK, () => {
      const address = server.address();
      server.close(() => {
        if (address && typeof address === "object") resolve(address.port);
        else reject(new Error("no port assigned"));
      });
    });
  });
}

export interface ProbeResult {
  status: number;
  body: string;
}

/** GET over HTTPS, verifying the server against `ca`; network errors resolve to status 0. */
export function httpsGet(url: string, ca: string, token: string): Promise<ProbeResult> {
  return httpsRequest(url, ca, token);
}

/** POST of a JSON body over HTTPS, verifying the server against `ca`; network errors resolve to status 0. */
export function httpsPostJson(url: string, ca: string, token: string, body: unknown): Promise<ProbeResult> {
  return httpsRequest(url, ca, token, JSON.stringify(body));
}

function httpsRequest(url: string, ca: string, token: string, json?: string): Promise<ProbeResult> {
  const headers: Record<string, string | number> = { authorization: `Bearer ${token}` };
  if (json !== undefined)
    Object.assign(headers, { "content-type": "application/json", "content-length": Buffer.byteLength(json) });
  return new Promise((resolve) => {
    const req = request(
      url,
      { method: json === undefined ? "GET" : "POST", ca, headers, timeout: 5_000 },
      (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (chunk: Buffer) => chunks.push(chunk));
        res.on("end", () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString() }));
        res.on("error", (error) => resolve({ status: 0, body: error.message }));
      },
    );
    req.on("timeout", () => req.destroy(new Error("timed out")));
    req.on("error", (error) => resolve({ status: 0, body: error.message }));
    req.end(json);
  });
}
