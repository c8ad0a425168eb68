#!/usr/bin/env bash
# Offline checks of infra/: formatting, `terraform validate` against the real azurerm provider
# (built from the Go module proxy into a filesystem mirror) and `terraform test` with a mocked one.
# `terraform init` reads providers from that mirror only, so it never reaches a registry.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
infra="$(cd "$here/.." && pwd)"
root="$(cd "$infra/.." && pwd)"
cache="$root/.cache/terraform"

bash "$here/build-provider.sh"

mkdir -p "$cache"
cat >"$cache/terraformrc" <<RC
provider_installation {
  filesystem_mirror {
    path    = "$cache/mirror"
    include = ["registry.terraform.io/hashicorp/azurerm"]
  }
}
RC
export TF_CLI_CONFIG_FILE="$cache/terraformrc"
export TF_IN_AUTOMATION=1 CHECKPOINT_DISABLE=1
# Installed providers stay out of the source tree (the lock file, infra/.terraform.lock.hcl, is
# gitignored: its hashes are those of the local build).
export TF_DATA_DIR="$cache/data"

cd "$infra"
echo "terraform fmt -check"
terraform fmt -check -recursive -diff
echo "terraform init (filesystem mirror only)"
terraform init -backend=false -input=false -upgrade -no-color >/dev/null
echo "terraform validate"
terraform validate -no-color
echo "terraform test (mock_provider azurerm)"
terraform test -no-color
