import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startHostProcess, type HostProcess } from "../../../dev/host/hostProcess.js";

const masterKey = "fixture-master-key-0123456789";
const functionKey = "fixture-function-key-abcdef";

describe("local host HTTP triggers", () => {
  let host: HostProcess;
  beforeAll(async () => {
    host = await startHostProcess({
      entry: "functions/greetings.js",
      env: { LOCAL_HOST_MASTER_KEY: masterKey, LOCAL_HOST_FUNCTION_KEYS: functionKey },
    });
  });
  afterAll(async () => {
    await host?.stop();
  });

  it("routes /api/<route> with an optional route parameter and the query to the handler", async () => {
    const named = await fetch(`${host.url}/api/hello/ada?shout=yes`);
    expect(named.status).toBe(200);
    expect(await named.json()).toEqual({ greeting: "hello ada", shout: "yes" });
    const unnamed = await fetch(`${host.url}/api/HELLO`);
    expect(await unnamed.json()).toEqual({ greeting: "hello world", shout: null });
  });

  it("answers 401 to a function-level route without a key", async () => {
    const response = await fetch(`${host.url}/api/secret/echo`, { method: "POST", body: "{}" });
    expect(response.status).toBe(401);
  });

  it("accepts a function key in x-functions-key or code, and returns status, headers, cookies and body", async () => {
    const viaHeader = await fetch(`${host.url}/api/secret/echo`, {
      method: "POST",
      headers: { "x-functions-key": functionKey, "content-type": "application/json" },
      body: JSON.stringify({ pod: "sensor" }),
    });
    expect(viaHeader.status).toBe(201);
    expect(viaHeader.headers.get("x-fixture")).toBe("echo");
    expect(viaHeader.headers.get("set-cookie")).toBe("seen=yes; HttpOnly");
    expect(await viaHeader.json()).toEqual({ received: { pod: "sensor" }, method: "POST" });
    const viaQuery = await fetch(`${host.url}/api/secret/echo?code=${functionKey}`, {
      method: "POST",
      body: "1",
    });
    expect(viaQuery.status).toBe(201);
  });

  it("lets only the master key through an admin-level route", async () => {
    expect((await fetch(`${host.url}/api/secret/admin?code=${functionKey}`)).status).toBe(401);
    const admin = await fetch(`${host.url}/api/secret/admin`, { headers: { "x-functions-key": masterKey } });
    expect(admin.status).toBe(200);
    expect(await admin.text()).toBe("admin");
  });

  it("answers 405 to a method the route does not accept and 404 to an unknown route", async () => {
    const wrongMethod = await fetch(`${host.url}/api/hello`, { method: "DELETE" });
    expect(wrongMethod.status).toBe(405);
    expect(wrongMethod.headers.get("allow")).toBe("GET");
    expect((await fetch(`${host.url}/api/nothing/here`)).status).toBe(404);
  });

  it("answers 500 when a handler throws, and logs the failure with the function name", async () => {
    expect((await fetch(`${host.url}/api/fails`)).status).toBe(500);
    const failure = await host.waitForLine("function invocation failed");
    expect(failure).toContain('"function":"fails"');
    expect(failure).toContain("fixture failure");
  });

  it("passes the app's context.log lines to the host log with the invocation id", async () => {
    const line = await host.waitForLine("greeting ada");
    expect(line).toMatch(/"function":"hello","invocationId":"[0-9a-f-]{36}"/);
  });

  it("never writes a key to its output", () => {
    const all = host.output.join("\n");
    expect(all).not.toContain(masterKey);
    expect(all).not.toContain(functionKey);
  });

  it("warns at start about a function whose trigger type it does not fire, naming both", async () => {
    const warning = await host.waitForLine("does not fire this trigger type");
    expect(warning).toContain('"function":"queueWatcher"');
    expect(warning).toContain('"trigger":"queueTrigger"');
  });

  it("runs the app's appStart hook before serving, and lets a preInvocation hook replace a handler", async () => {
    const started = await fetch(`${host.url}/api/settings/FIXTURE_APP_STARTED`);
    expect(await started.json()).toEqual({ FIXTURE_APP_STARTED: "yes" });
    const hooked = await fetch(`${host.url}/api/hooked`);
    expect(await hooked.text()).toBe("replaced by a preInvocation hook");
  });
});
