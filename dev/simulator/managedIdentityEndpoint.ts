// The App Service managed identity protocol (IDENTITY_ENDPOINT + IDENTITY_HEADER) on loopback, as a
// Functions app sees it in Azure: `GET <endpoint>?api-version=2019-08-01&resource=<audience>` with the
// `X-IDENTITY-HEADER` secret, answered with a token from a local issuer. @azure/identity's real
// ManagedIdentityCredential then runs unchanged in tests and in the local host. Each client id (a
// user-assigned identity) may sign with its own issuer, so a test can hold an identity nobody trusts.
import { randomBytes } from "node:crypto";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import type { LocalTokenIssuer } from "./localTokenIssuer.js";

export interface ManagedIdentityEndpoint {
  /** the environment a process needs to use it: IDENTITY_ENDPOINT and IDENTITY_HEADER */
  environment: { IDENTITY_ENDPOINT: string; IDENTITY_HEADER: string };
  stop(): Promise<void>;
}

export interface ManagedIdentityEndpointOptions {
  /** the system-assigned identity's issuer */
  issuer: LocalTokenIssuer;
  /** user-assigned identities by client id, each with its issuer */
  userAssigned?: Readonly<Record<string, LocalTokenIssuer>>;
}

function answer(response: ServerResponse, status: number, body: object) {
  response.writeHead(status, { "content-type": "application/json" }).end(JSON.stringify(body));
}

export async function startManagedIdentityEndpoint(
  options: ManagedIdentityEndpointOptions,
): Promise<ManagedIdentityEndpoint> {
  const secret = randomBytes(16).toString("hex");
  const server = createServer((request: IncomingMessage, response: ServerResponse) => {
    const url = new URL(request.url ?? "/", "http://127.0.0.1");
    if (request.headers["x-identity-header"] !== secret)
      return answer(response, 401, {
        error: "invalid_request",
        error_description: "X-IDENTITY-HEADER is wrong",
      });
    const resource = url.searchParams.get("resource");
    if (request.method !== "GET" || !resource)
      return answer(response, 400, { error: "invalid_request", error_description: "GET with a resource" });
    const clientId = url.searchParams.get("client_id");
    const issuer = clientId === null ? options.issuer : options.userAssigned?.[clientId];
    if (issuer === undefined)
      return answer(response, 400, { error: "invalid_request", error_description: "no such identity" });
    const token = issuer.issue(resource.replace(/\/\.default$/, ""));
    answer(response, 200, {
      access_token: token.token,
      expires_on: String(Math.floor(token.expiresOnTimestamp / 1000)),
      resource,
      token_type: "Bearer",
      ...(clientId !== null && { client_id: clientId }),
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    environment: { IDENTITY_ENDPOINT: `http://127.0.0.1:${port}/msi/token`, IDENTITY_HEADER: secret },
    stop: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
