// TLS for the simulator: azure-iothub only speaks HTTPS on port 443 and checks the certificate, so the
// simulator presents a leaf certificate for its loopback IP signed by a local CA that clients trust through
// NODE_EXTRA_CA_CERTS. The CA is created once per checkout and reused; leaves are issued in memory at each
// start. Keys come from node:crypto (fast native RSA), certificates are built and signed with node-forge.
import { generateKeyPair, randomBytes } from "node:crypto";
import { mkdir, readFile, rename, rm, writeFile } from "node:fs/promises";
import { join, resolve } from "node:path";
import { promisify } from "node:util";
import forge from "node-forge";

const DAY_MS = 24 * 60 * 60 * 1000;
const generateRsaKeyPair = promisify(generateKeyPair);

export interface LocalCa {
  /** The CA certificate file to give clients in NODE_EXTRA_CA_CERTS. */
  certPath: string;
  certPem: string;
  keyPem: string;
}

export interface ServerCertificate {
  certPem: string;
  keyPem: string;
}

/** Where the CA lives by default: `.cache/simulator-ca/` under the working directory (gitignored). */
export function defaultCaDirectory(): string {
  return resolve(process.cwd(), ".cache", "simulator-ca");
}

async function newKeyPair(): Promise<{
  publicKey: forge.pki.PublicKey;
  privateKey: forge.pki.PrivateKey;
  keyPem: string;
}> {
  const { publicKey, privateKey } = await generateRsaKeyPair("rsa", {
    modulusLength: 2048,
    publicKeyEncoding: { type: "spki", format: "pem" },
    privateKeyEncoding: { type: "pkcs8", format: "pem" },
  });
  return {
    publicKey: forge.pki.publicKeyFromPem(publicKey),
    privateKey: forge.pki.privateKeyFromPem(privateKey),
    keyPem: privateKey,
  };
}

/** Where a serial number's randomness comes from (a test gives chosen bytes). */
export type RandomSource = (size: number) => Buffer;

function newCertificate(
  publicKey: forge.pki.PublicKey,
  validDays: number,
  random: RandomSource = randomBytes,
): forge.pki.Certificate {
  const certificate = forge.pki.createCertificate();
  certificate.publicKey = publicKey;
  // A positive serial in DER's shortest form: a first byte of 0x01-0x7f needs no padding byte and
  // allows none (a leading zero byte is "illegal padding" to OpenSSL, 1 certificate in 512 before).
  const serial = Buffer.from(random(16));
  serial[0] = serial[0]! & 0x7f || 0x01;
  certificate.serialNumber = serial.toString("hex");
  certificate.validity.notBefore = new Date(Date.now() - DAY_MS);
  certificate.validity.notAfter = new Date(Date.now() + validDays * DAY_MS);
  return certificate;
}

async function readCa(directory: string): Promise<LocalCa> {
  const certPath = join(directory, "ca.pem");
  const [certPem, keyPem] = await Promise.all([
    readFile(certPath, "utf8"),
    readFile(join(directory, "ca.key"), "utf8"),
  ]);
  return { certPath, certPem, keyPem };
}

/**
 * Returns the local CA in `directory`, creating it on first use. Creation is atomic (written to a temporary
 * directory, then renamed) so parallel test workers never see half a CA; the loser of a race adopts the
 * winner's CA.
 */
export async function ensureLocalCa(directory = defaultCaDirectory()): Promise<LocalCa> {
  try {
    return await readCa(directory);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "ENOENT") throw error;
  }
  const keys = await newKeyPair();
  const certificate = newCertificate(keys.publicKey, 3650);
  const name = [{ name: "commonName", value: "IoT Edge Connector simulator local CA" }];
  certificate.setSubject(name);
  certificate.setIssuer(name);
  certificate.setExtensions([
    { name: "basicConstraints", cA: true, pathLenConstraint: 0, critical: true },
    { name: "keyUsage", keyCertSign: true, cRLSign: true, critical: true },
    { name: "subjectKeyIdentifier" },
  ]);
  certificate.sign(keys.privateKey as forge.pki.rsa.PrivateKey, forge.md.sha256.create());

  const staging = `${directory}.tmp-${process.pid}-${randomBytes(4).toString("hex")}`;
  await mkdir(staging, { recursive: true });
  await writeFile(join(staging, "ca.pem"), forge.pki.certificateToPem(certificate));
  await writeFile(join(staging, "ca.key"), keys.keyPem, { mode: 0o600 });
  try {
    await rename(staging, directory);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code !== "EEXIST" && code !== "ENOTEMPTY") throw error;
    await rm(staging, { recursive: true, force: true });
  }
  return readCa(directory);
}

/** Issues a server certificate for an IP address (and `localhost`), valid for a week, signed by the CA. */
export async function issueServerCertificate(
  ca: LocalCa,
  ipAddress: string,
  random: RandomSource = randomBytes,
): Promise<ServerCertificate> {
  const caCertificate = forge.pki.certificateFromPem(ca.certPem);
  const caKey = forge.pki.privateKeyFromPem(ca.keyPem);
  const keys = await newKeyPair();
  const certificate = newCertificate(keys.publicKey, 7, random);
  certificate.setSubject([{ name: "commonName", value: ipAddress }]);
  certificate.setIssuer(caCertificate.subject.attributes);
  certificate.setExtensions([
    { name: "basicConstraints", cA: false, critical: true },
    { name: "keyUsage", digitalSignature: true, keyEncipherment: true, critical: true },
    { name: "extKeyUsage", serverAuth: true },
    {
      name: "subjectAltName",
      altNames: [
        { type: 7, ip: ipAddress },
        { type: 2, value: "localhost" },
      ],
    },
    {
      name: "authorityKeyIdentifier",
      keyIdentifier: caCertificate.generateSubjectKeyIdentifier().getBytes(),
    },
  ]);
  certificate.sign(caKey, forge.md.sha256.create());
  return { certPem: forge.pki.certificateToPem(certificate), keyPem: keys.keyPem };
}
