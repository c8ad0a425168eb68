// Every shape a secret takes, through every path a message leaves the product by: redact() on plain
// text and on a JSON log line, the adapter's log lines, a Functions invocation's logs and thrown
// errors, the provider API's error answers, and what the kubelet API and the pod's Events say.
import { Writable } from "node:stream";
import { InvocationContext, PreInvocationContext } from "@azure/functions";
import type { CoreV1Api, V1Pod } from "@kubernetes/client-node";
import { pino } from "pino";
import { describe, expect, it } from "vitest";
import { createAdapterLogger } from "../../lib/adapter/logger.js";
import { EventRecorder } from "../../lib/adapter/podEvents.js";
import { redactInvocation } from "../../lib/app/redactInvocation.js";
import { REDACTED, redact } from "../../lib/hub/redact.js";
import { errorAnswer } from "../../lib/provider/providerErrorAnswer.js";

/** [what, text holding the secret, the secret] */
const forms: [string, string, string][] = [
  ["a JSON password", '{"username":"edge","password":"hunter2-Secret!"}', "hunter2-Secret!"],
  ["a JSON registry password", '{"registryPassword": "Pa55w0rd-registry"}', "Pa55w0rd-registry"],
  ["a JSON password with an escaped quote", '{"password":"pa\\"ss-word-9"}', 'pa\\"ss-word-9'],
  [
    "code= in a URL",
    "GET https://app.example.net/api/v1/x?code=Fk3y-abcDEF123_xyz==&tail=2",
    "Fk3y-abcDEF123_xyz==",
  ],
  ["code= URL-encoded", "next=%3Fcode%3DFk3y-abcDEF123_xyz%26tail%3D2", "Fk3y-abcDEF123_xyz"],
  [
    "an x-functions-key header",
    "request headers: x-functions-key: nodeKey-0123456789abcdef",
    "nodeKey-0123456789abcdef",
  ],
  [
    "an x-functions-key in JSON",
    '{"x-functions-key":"nodeKey-0123456789abcdef"}',
    "nodeKey-0123456789abcdef",
  ],
  [
    "a Bearer token in an Authorization header",
    "Authorization: Bearer eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJzeXN0ZW0ifQ.c2lnbmF0dXJl",
    "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJzeXN0ZW0ifQ.c2lnbmF0dXJl",
  ],
  [
    "a Bearer token alone",
    "TokenReview of Bearer eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJzeXN0ZW0ifQ.c2lnbmF0dXJl failed",
    "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJzeXN0ZW0ifQ.c2lnbmF0dXJl",
  ],
  [
    "a shared access key",
    "HostName=h.azure-devices.net;SharedAccessKeyName=owner;SharedAccessKey=q8P+2xk/Vw3mZr7Ld0aB=",
    "q8P+2xk/Vw3mZr7Ld0aB=",
  ],
  ["a SAS signature", "GET https://h/devices?sr=h&sig=Zm9vYmFyYmF6cXV4%2Bxyz&se=1", "Zm9vYmFyYmF6cXV4%2Bxyz"],
];

function expectClean(output: string, secret: string): void {
  expect(output).not.toContain(secret);
  expect(output).toContain(REDACTED);
}

/** What a pino logger wrote, line by line. */
function captured() {
  const lines: string[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _encoding, done) {
      lines.push(chunk.toString());
      done();
    },
  });
  return { lines, stream };
}

describe.each(forms)("%s", (_what, text, secret) => {
  it("is removed from plain text and from a JSON log line holding it", () => {
    expectClean(redact(text), secret);
    const line = JSON.stringify({ level: 40, msg: "failed", err: text });
    const redacted = redact(line);
    expectClean(redacted, secret);
    expect(() => JSON.parse(redacted) as unknown).not.toThrow();
  });

  it("never reaches an adapter log line, in the message or in a field", () => {
    const { lines, stream } = captured();
    const logger = createAdapterLogger("info", stream);
    logger.warn({ err: text, nested: { detail: text } }, `call failed: ${text}`);
    expect(lines).toHaveLength(1);
    expectClean(lines[0]!, secret);
  });

  it("never leaves a Functions invocation in a log or in the error it throws", async () => {
    const logged: string[] = [];
    const invocationContext = new InvocationContext({
      logHandler: (_level, ...args) => logged.push(args.map(String).join(" ")),
    });
    const hook = new PreInvocationContext({
      invocationContext,
      functionCallback: (_input: unknown, context: InvocationContext) => {
        context.log("calling with", text);
        context.error(new Error(text));
        throw new Error(`activity failed: ${text}`);
      },
    });
    redactInvocation(hook);
    const thrown = await Promise.resolve(hook.functionHandler(undefined, invocationContext)).then(
      () => undefined,
      (error: unknown) => error as Error,
    );
    expect(logged).toHaveLength(2);
    for (const line of logged) expectClean(line, secret);
    expectClean(thrown!.message, secret);
    expect(thrown!.stack).not.toContain(secret);
  });

  it("never reaches a provider API error answer or the app's log line of it", () => {
    const answer = errorAnswer(new Error(text), "invocation-1");
    expect(JSON.stringify(answer.body)).not.toContain(secret);
    expectClean(answer.logMessage!, secret);
  });

  it("never reaches a pod's Event", async () => {
    const created: string[] = [];
    const core = {
      createNamespacedEvent: (request: { body: { message?: string } }) => {
        created.push(request.body.message ?? "");
        return Promise.resolve({});
      },
    } as unknown as CoreV1Api;
    const pod: V1Pod = { metadata: { namespace: "default", name: "p", uid: "u" } };
    await new EventRecorder(core, { nodeName: "n" }, pino({ level: "silent" })).record(pod, {
      type: "Warning",
      reason: "ProviderRejected",
      message: `the connector refused the pod: ${text}`,
    });
    expectClean(created[0]!, secret);
  });
});

describe("redaction leaves what is no secret", () => {
  it.each([
    'create configuration "web-1a2b": Precondition failed (HTTP 412 PreconditionFailed)',
    '{"error":{"code":"PodNotFound","message":"pod default/x is not known"}}',
    "module sensor exited with exitCode=137",
  ])("keeps %s", (text) => {
    expect(redact(text)).toBe(text);
  });
});
