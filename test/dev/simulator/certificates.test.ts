import { X509Certificate } from "node:crypto";
import { createSecureContext } from "node:tls";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { ensureLocalCa, issueServerCertificate } from "../../../dev/simulator/certificates.js";

const scratch = await mkdtemp(join(tmpdir(), "simulator-ca-"));

afterAll(async () => {
  await rm(scratch, { recursive: true, force: true });
});

describe("local CA", () => {
  it("is created once and reused, even by concurrent callers", async () => {
    const directory = join(scratch, "ca");
    const [first, second] = await Promise.all([ensureLocalCa(directory), ensureLocalCa(directory)]);
    const third = await ensureLocalCa(directory);
    expect(second?.certPem).toBe(first?.certPem);
    expect(third.certPem).toBe(first?.certPem);
    const ca = new X509Certificate(third.certPem);
    expect(ca.ca).toBe(true);
    expect(ca.subject).toContain("IoT Edge Connector simulator local CA");
  });

  it("issues a server certificate for an IP address that the CA signed", async () => {
    const ca = await ensureLocalCa(join(scratch, "ca"));
    const leaf = new X509Certificate((await issueServerCertificate(ca, "127.13.7.21")).certPem);
    const caCertificate = new X509Certificate(ca.certPem);
    expect(leaf.verify(caCertificate.publicKey)).toBe(true);
    expect(leaf.checkIssued(caCertificate)).toBe(true);
    expect(leaf.checkIP("127.13.7.21")).toBe("127.13.7.21");
    expect(leaf.checkIP("127.13.7.22")).toBeUndefined();
    expect(leaf.ca).toBe(false);
  });

  // DER wants an integer's shortest form. Random serials that start with zero bytes once in a few
  // hundred certificates made one OpenSSL refuses ("illegal padding"): a simulator start failed in CI.
  it.each([
    ["two zero bytes", [0x00, 0x00, 0x12]],
    ["a zero byte, then a small one", [0x00, 0x7f]],
    ["a zero byte, then a large one", [0x00, 0x80]],
    ["all zero", [0x00]],
    ["the top bit set", [0xff]],
  ])("issues a certificate TLS loads whatever the serial's random bytes: %s", async (_, start) => {
    const ca = await ensureLocalCa(join(scratch, "ca"));
    const random = (size: number) =>
      Buffer.concat([Buffer.from(start), Buffer.alloc(size)]).subarray(0, size);
    const { certPem, keyPem } = await issueServerCertificate(ca, "127.0.0.1", random);
    expect(() => createSecureContext({ cert: certPem, key: keyPem })).not.toThrow();
    const serial = new X509Certificate(certPem).serialNumber;
    expect(serial).toMatch(/^[0-9A-F]+$/);
    expect(serial).not.toMatch(/^0+$/); // RFC 5280: a positive integer
  });
});

describe("test workers", () => {
  it("trust the local CA through NODE_EXTRA_CA_CERTS set by the global setup", async () => {
    const ca = await ensureLocalCa();
    expect(process.env["NODE_EXTRA_CA_CERTS"]).toBe(ca.certPath);
  });
});
