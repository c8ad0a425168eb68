// Key material for a test control plane: a CA that clients trust, the apiserver's serving
// certificate signed by it (so kubeconfigs verify TLS instead of skipping it), and the RSA key
// pair that signs service-account tokens. openssl does the X.509 work: node:crypto cannot
// issue certificates.
import { generateKeyPairSync, randomBytes } from "node:crypto";
import { writeFile } from "node:fs/promises";
import path from "node:path";
import { runCommand } from "./commands.js";

export interface ClusterCertificates {
  caCertPath: string;
  caKeyPath: string;
  apiserverCertPath: string;
  apiserverKeyPath: string;
  serviceAccountPublicKeyPath: string;
  serviceAccountPrivateKeyPath: string;
}

const VALID_DAYS = "7";

/** Names and addresses the apiserver is reached at, from the host and from in-cluster clients. */
function apiserverSubjectAltNames(serviceIp: string): string {
  const dnsNames = [
    "localhost",
    "kubernetes",
    "kubernetes.default",
    "kubernetes.default.svc",
    "kubernetes.default.svc.cluster.local",
  ];
  return [...dnsNames.map((name) => `DNS:${name}`), "IP:127.0.0.1", `IP:${serviceIp}`].join(",");
}

async function openssl(args: string[]): Promise<void> {
  await runCommand("openssl", args, { displayName: `openssl ${args[0] ?? ""}` });
}

function randomSerial(): string {
  return `0x${randomBytes(16).toString("hex")}`;
}

export async function createClusterCertificates(
  dir: string,
  serviceIp: string,
): Promise<ClusterCertificates> {
  const file = (name: string) => path.join(dir, name);
  const ecKey = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"];
  const certs: ClusterCertificates = {
    caCertPath: file("ca.crt"),
    caKeyPath: file("ca.key"),
    apiserverCertPath: file("apiserver.crt"),
    apiserverKeyPath: file("apiserver.key"),
    serviceAccountPublicKeyPath: file("service-account.pub"),
    serviceAccountPrivateKeyPath: file("service-account.key"),
  };

  await openssl([
    "req",
    "-x509",
    ...ecKey,
    "-keyout",
    certs.caKeyPath,
    "-out",
    certs.caCertPath,
    "-days",
    VALID_DAYS,
    "-subj",
    "/CN=iot-edge-connector-test-ca",
    "-set_serial",
    randomSerial(),
    "-addext",
    "basicConstraints=critical,CA:TRUE",
    "-addext",
    "keyUsage=critical,keyCertSign,cRLSign",
  ]);

  const csrPath = file("apiserver.csr");
  const extensionsPath = file("apiserver.ext");
  await openssl([
    "req",
    "-new",
    ...ecKey,
    "-keyout",
    certs.apiserverKeyPath,
    "-out",
    csrPath,
    "-subj",
    "/CN=kube-apiserver",
  ]);
  await writeFile(
    extensionsPath,
    [
      `subjectAltName=${apiserverSubjectAltNames(serviceIp)}`,
      "keyUsage=critical,digitalSignature,keyEncipherment",
      "extendedKeyUsage=serverAuth",
      "",
    ].join("\n"),
  );
  await openssl([
    "x509",
    "-req",
    "-in",
    csrPath,
    "-CA",
    certs.caCertPath,
    "-CAkey",
    certs.caKeyPath,
    "-set_serial",
    randomSerial(),
    "-days",
    VALID_DAYS,
    "-extfile",
    extensionsPath,
    "-out",
    certs.apiserverCertPath,
  ]);

  const serviceAccountKeys = generateKeyPairSync("rsa", {
    modulusLength: 2048,
    publicKeyEncoding: { type: "spki", format: "pem" },
    privateKeyEncoding: { type: "pkcs8", format: "pem" },
  });
  await writeFile(certs.serviceAccountPublicKeyPath, serviceAccountKeys.publicKey);
  await writeFile(certs.serviceAccountPrivateKeyPath, serviceAccountKeys.privateKey, { mode: 0o600 });
  return certs;
}
