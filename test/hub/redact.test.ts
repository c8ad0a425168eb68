import fc from "fast-check";
import iothub from "azure-iothub";
import { describe, expect, it } from "vitest";
import { REDACTED, redact } from "../../lib/hub/redact.js";

const key = "q8P+2xk/Vw3mZr7Ld0aBcE4fGhIjKlMnOpQrStUvWxY=";
const sasToken = String(
  iothub.SharedAccessSignature.create("hub.azure-devices.net", "iothubowner", key, 1795617002),
);
const signature = /sig=([^&]+)/.exec(sasToken)?.[1] ?? "";

describe("redact", () => {
  it("removes the key of a connection string and keeps the rest readable", () => {
    const text = `cannot connect with HostName=hub.azure-devices.net;SharedAccessKeyName=iothubowner;SharedAccessKey=${key}`;
    expect(redact(text)).toBe(
      `cannot connect with HostName=hub.azure-devices.net;SharedAccessKeyName=iothubowner;SharedAccessKey=${REDACTED}`,
    );
  });

  it("removes a whole SAS token as the SDK puts it in the Authorization header", () => {
    const text = `401 for request with Authorization: ${sasToken}`;
    expect(redact(text)).not.toContain(signature);
    expect(redact(text)).not.toContain("skn=iothubowner&se");
  });

  it("removes a SAS token inside JSON", () => {
    const text = JSON.stringify({ headers: { Authorization: sasToken }, token: sasToken });
    const redacted = redact(text);
    expect(redacted).not.toContain(signature);
    expect(() => JSON.parse(redacted) as unknown).not.toThrow();
  });

  it("removes sig= from URLs, plain and URL-encoded", () => {
    expect(redact(`GET https://h/devices?sr=h&sig=${signature}&se=1`)).toBe(
      `GET https://h/devices?sr=h&sig=${REDACTED}&se=1`,
    );
    expect(redact(`next=%3Fsig%3D${signature}`)).not.toContain(signature);
  });

  it("removes device keys the registry returns", () => {
    const device = JSON.stringify({
      authentication: { symmetricKey: { primaryKey: key, secondaryKey: key } },
    });
    expect(redact(device)).not.toContain(key);
  });

  it("removes exact secret values in any shape, encoded ones included", () => {
    const text = `weird echo: ${key} / ${encodeURIComponent(key)} / ${JSON.stringify({ k: key })}`;
    const redacted = redact(text, [key]);
    expect(redacted).not.toContain(key);
    expect(redacted).not.toContain(encodeURIComponent(key));
  });

  it("leaves text without secrets unchanged", () => {
    const text = 'create configuration "web-1a2b": Precondition failed (HTTP 412 PreconditionFailed)';
    expect(redact(text, [key])).toBe(text);
  });

  it("never lets a random base64 key through a connection string, a token or a URL", () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 16, maxLength: 64 }), (bytes) => {
        const randomKey = Buffer.from(bytes).toString("base64");
        const token = String(iothub.SharedAccessSignature.create("h", "p", randomKey, 1));
        const tokenSignature = /sig=([^&]+)/.exec(token)?.[1] ?? "";
        const text = `SharedAccessKey=${randomKey}; Authorization=${token}; url?sig=${tokenSignature}`;
        const redacted = redact(text);
        expect(redacted).not.toContain(randomKey);
        expect(redacted).not.toContain(tokenSignature);
      }),
      { numRuns: 200 },
    );
  });
});
