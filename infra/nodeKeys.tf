# One identity per virtual node for the provider API: a key of its own, which the Functions host
# accepts as a host function key (kept in a Key Vault of its own: AzureWebJobsSecretStorageType
# keyvault reads `host--functionKey--<name>` secrets) and which the app binds, by its SHA-256 in
# CONNECTOR_NODES, to the node's name, hub and cluster. Why keys and not Entra ID: docs/security.md.
locals {
  virtual_nodes = { for node in var.virtual_nodes : "${node.cluster}/${node.name}" => node }
  # Names the host and Key Vault accept (letters, digits, '-'), unique per cluster and node.
  node_key_names        = { for id, node in local.virtual_nodes : id => "node-${node.cluster}-${substr(sha256(id), 0, 12)}" }
  node_key_secret_names = { for id, node in local.virtual_nodes : id => "${node.name}-key" }
  node_keys             = { for id, key in terraform_data.node_key : id => key.output }
  # The hash of a 244-bit random key reveals nothing: it may show in plans and app settings.
  node_key_sha256 = { for id, key in local.node_keys : id => nonsensitive(sha256(key)) }
  host_key_settings = {
    AzureWebJobsSecretStorageType        = "keyvault"
    AzureWebJobsSecretStorageKeyVaultUri = azurerm_key_vault.host_keys.vault_uri
  }
}

# A random key per node, drawn once: Terraform's uuid() reads crypto/rand (122 random bits each), and
# ignore_changes keeps the first value (no random provider: the checks run offline with azurerm alone).
# Rotate a key by replacing it: terraform apply -replace='terraform_data.node_key["<cluster>/<node>"]'.
resource "terraform_data" "node_key" {
  for_each = local.virtual_nodes
  input    = sensitive("${replace(uuid(), "-", "")}${replace(uuid(), "-", "")}")
  lifecycle {
    ignore_changes = [input]
  }
}

# The Functions host's keys (master, system and the nodes' function keys), apart from the app's
# configuration secrets: the host writes here, so the app's identity is a Secrets Officer of this
# vault only, and stays a Secrets User of the other.
resource "azurerm_key_vault" "host_keys" {
  name                       = substr("${local.unique_name}hk", 0, 24)
  resource_group_name        = azurerm_resource_group.connector.name
  location                   = azurerm_resource_group.connector.location
  tenant_id                  = data.azurerm_client_config.current.tenant_id
  sku_name                   = "standard"
  rbac_authorization_enabled = true
  purge_protection_enabled   = false
  soft_delete_retention_days = 7
  tags                       = local.tags
}

resource "azurerm_role_assignment" "deployer_writes_host_keys" {
  scope                = azurerm_key_vault.host_keys.id
  role_definition_name = "Key Vault Secrets Officer"
  principal_id         = data.azurerm_client_config.current.object_id
}

resource "azurerm_role_assignment" "app_keeps_host_keys" {
  scope                = azurerm_key_vault.host_keys.id
  role_definition_name = "Key Vault Secrets Officer"
  principal_id         = local.app.principal_id
  principal_type       = "ServicePrincipal"
}

resource "azurerm_key_vault_secret" "node_key" {
  for_each     = local.virtual_nodes
  name         = "host--functionKey--${local.node_key_names[each.key]}"
  key_vault_id = azurerm_key_vault.host_keys.id
  content_type = "provider API key of virtual node ${each.key} (hub ${each.value.hub})"
  value        = local.node_keys[each.key]
  depends_on   = [azurerm_role_assignment.deployer_writes_host_keys]
}
