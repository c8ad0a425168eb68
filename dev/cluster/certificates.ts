// Key material for a test control plane: a CA that clients trust, the apiserver's serving
// certificate signed by it (so kubeconfigs verify TLS instead of skipping it), the client
// certificate the apiserver presents to kubelets (signed by the same CA, as kubeadm does), and the
// RSA key pair that signs service-account tokens. openssl does the X.509 work: node:crypto cannot
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
  /** the apiserver's client certificate towards kubelets (kubectl logs, exec): CN=kube-apiserver-kubelet-client */
  kubeletClientCertPath: string;
  kubeletClientKeyPath: string;
  serviceAccountPublicKeyPath: string;
  serviceAccountPrivateKeyPath: string;
}

const VALID_DAYS = "7";
/** The user the apiserver is to kubelets (kubeadm's name), bound to system:kubelet-api-admin. */
export const KUBELET_CLIENT_USER = "kube-apiserver-kubelet-client";

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
    kubeletClientCertPath: file("apiserver-kubelet-client.crt"),
    kubeletClientKeyPath: file("apiserver-kubelet-client.key"),
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

  /** A key and a certificate for `subject` with `extensions`, signed by the CA. */
  const issue = async (
    name: string,
    subject: string,
    extensions: string[],
    keyPath: string,
    certPath: string,
  ) => {
    const csrPath = file(`${name}.csr`);
    const extensionsPath = file(`${name}.ext`);
    await openssl(["req", "-new", ...ecKey, "-keyout", keyPath, "-out", csrPath, "-subj", subject]);
    await writeFile(extensionsPath, [...extensions, ""].join("\n"));
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
      certPath,
    ]);
  };
  await issue(
    "apiserver",
    "/CN=kube-apiserver",
    [
      `subjectAltName=${apiserverSubjectAltNames(serviceIp)}`,
      "keyUsage=critical,digitalSignature,keyEncipherment",
      "extendedKeyUsage=serverAuth",
    ],
    certs.apiserverKeyPath,
    certs.apiserverCertPath,
  );
  await issue(
    "apiserver-kubelet-client",
    `/CN=${KUBELET_CLIENT_USER}`,
    ["keyUsage=critical,digitalSignature,keyEncipherment", "extendedKeyUsage=clientAuth"],
    certs.kubeletClientKeyPath,
    certs.kubeletClientCertPath,
  );

  const serviceAccountKeys = generateKeyPairSync("rsa", {
    modulusLength: 2048,
    publicKeyEncoding: { type: "spki", format: "pem" },
    privateKeyEncoding: { type: "pkcs8", format: "pem" },
  });
  await writeFile(certs.serviceAccountPublicKeyPath, serviceAccountKeys.publicKey);
  await writeFile(certs.serviceAccountPrivateKeyPath, serviceAccountKeys.privateKey, { mode: 0o600 });
  return certs;
}
