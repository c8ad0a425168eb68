// A self-signed serving certificate for the adapter's kubelet API in tests (the test apiserver does
// not verify kubelet certificates; see docs/control-plane.md).
import path from "node:path";
import { runCommand } from "../cluster/commands.js";

export async function selfSignedCertificate(dir: string): Promise<{ certPath: string; keyPath: string }> {
  const certPath = path.join(dir, "kubelet.crt");
  const keyPath = path.join(dir, "kubelet.key");
  await runCommand("openssl", [
    "req",
    "-x509",
    "-newkey",
    "ec",
    "-pkeyopt",
    "ec_paramgen_curve:prime256v1",
    "-nodes",
    "-keyout",
    keyPath,
    "-out",
    certPath,
    "-days",
    "2",
    "-subj",
    "/CN=iot-edge-virtual-kubelet",
    "-addext",
    "subjectAltName=IP:127.0.0.1,DNS:localhost",
  ]);
  return { certPath, keyPath };
}
