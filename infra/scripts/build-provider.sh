#!/usr/bin/env bash
# Builds the azurerm Terraform provider from the Go module proxy into .cache/terraform and lays it
# out as a filesystem mirror, so `terraform init` installs it without reaching any registry.
# A build is skipped when the binary was built for the same module version and Go (stamp file).
set -euo pipefail

# A commit of the provider just after its 5.2.0 release (CHANGELOG), as the Go module proxy serves it.
PROVIDER_MODULE=github.com/hashicorp/terraform-provider-azurerm
PROVIDER_MODULE_VERSION=v1.44.1-0.20260824201233-fae580791926
# The version the mirror offers it under (what required_providers asks for) and the binary reports.
PROVIDER_VERSION=5.2.0

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
cache="$root/.cache/terraform"
platform="linux_amd64"
mirror_dir="$cache/mirror/registry.terraform.io/hashicorp/azurerm/$PROVIDER_VERSION/$platform"
binary="$mirror_dir/terraform-provider-azurerm_v$PROVIDER_VERSION"

if command -v go >/dev/null 2>&1; then go=go
elif [ -x /usr/local/go/bin/go ]; then go=/usr/local/go/bin/go
else echo "build-provider.sh: Go not found (install Go >= 1.26 or put it on PATH)" >&2; exit 1; fi

stamp="$(echo "$PROVIDER_MODULE@$PROVIDER_MODULE_VERSION $PROVIDER_VERSION $("$go" env GOVERSION)" | sha256sum | cut -d' ' -f1)"
if [ -x "$binary" ] && [ -f "$binary.stamp" ] && [ "$(cat "$binary.stamp")" = "$stamp" ]; then
  echo "azurerm provider: up to date ($binary)"
  exit 0
fi

echo "azurerm provider: building $PROVIDER_MODULE@$PROVIDER_MODULE_VERSION (cold: ~6 min, ~1 GB of modules)"
start="$(date +%s)"
mkdir -p "$mirror_dir" "$cache/gobin"
rm -f "$binary.stamp"
# The machines are shared: stay polite.
GOBIN="$cache/gobin" nice -n 10 "$go" install -trimpath -ldflags "-s -w -X $PROVIDER_MODULE/version.ProviderVersion=$PROVIDER_VERSION" \
  "$PROVIDER_MODULE@$PROVIDER_MODULE_VERSION"
mv "$cache/gobin/terraform-provider-azurerm" "$binary"
echo "$stamp" >"$binary.stamp"
echo "azurerm provider: built in $(($(date +%s) - start)) s"
