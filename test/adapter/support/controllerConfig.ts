// The adapter's config for tests that wire its controllers in process (no kubelet server, so the
// TLS files are never read), against a provider on plain http.
import { readAdapterConfig, type AdapterConfig } from "../../../lib/adapter/config.js";

export function controllerConfig(
  target: { node: string; hub: string; providerUrl: string; functionKey: string },
  extraArgs: string[] = [],
): AdapterConfig {
  return readAdapterConfig({}, [
    `--node-name=${target.node}`,
    `--hub-name=${target.hub}`,
    `--provider-url=${target.providerUrl}`,
    "--allow-http-provider-for-local-development",
    `--function-key=${target.functionKey}`,
    "--node-address=127.0.0.1",
    "--tls-cert-file=unused-no-kubelet-server",
    "--tls-key-file=unused-no-kubelet-server",
    "--client-ca-file=unused-no-kubelet-server",
    ...extraArgs,
  ]);
}
