terraform {
  # 1.7+: mock_provider in `terraform test`; 1.9+: a variable's validation may name another (virtual_nodes → hubs).
  required_version = ">= 1.9"
  required_providers {
    azurerm = {
      source = "hashicorp/azurerm"
      # Validated against the provider built from the Go module proxy (5.2.0 line, infra/scripts/build-provider.sh).
      version = "~> 5.2"
    }
  }
}

provider "azurerm" {
  features {}
  # Key Vault, storage and role resources are enough; no need to register every provider.
  resource_provider_registrations = "core"
  # The storage account allows no shared keys: data-plane calls sign in with Entra ID.
  storage_use_azuread = true
}
