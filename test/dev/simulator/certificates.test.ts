import { X509Certificate } from "node:crypto";
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
});

describe("test workers", () => {
  it("trust the local CA through NODE_EXTRA_CA_CERTS set by the global setup", async () => {
    const ca = await ensureLocalCa();
    expect(process.env["NODE_EXTRA_CA_CERTS"]).toBe(ca.certPath);
  });
});
