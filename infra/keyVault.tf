# The secrets: the hubs' built-in endpoints (Event Hub-compatible, shared access keys only), the base
# deployment's registry credentials and, in connection_mode "keys", the storage and hub service
# connection strings. The app reads them through Key Vault references; Terraform writes them with the
# deployer's identity.
resource "azurerm_key_vault" "connector" {
  name                       = substr("${local.unique_name}kv", 0, 24)
  resource_group_name        = azurerm_resource_group.connector.name
  location                   = azurerm_resource_group.connector.location
  tenant_id                  = data.azurerm_client_config.current.tenant_id
  sku_name                   = "standard"
  rbac_authorization_enabled = true
  purge_protection_enabled   = false
  soft_delete_retention_days = 7
  tags                       = local.tags
}

resource "azurerm_role_assignment" "deployer_writes_secrets" {
  scope                = azurerm_key_vault.connector.id
  role_definition_name = "Key Vault Secrets Officer"
  principal_id         = data.azurerm_client_config.current.object_id
}

resource "azurerm_key_vault_secret" "events_connection" {
  for_each     = local.hubs
  name         = "${each.key}-events-connection"
  key_vault_id = azurerm_key_vault.connector.id
  content_type = "Event Hub-compatible connection string of the hub's built-in endpoint"
  value = join(";", [
    "Endpoint=${each.value.events_endpoint}",
    "SharedAccessKeyName=${azurerm_iothub_shared_access_policy.events_reader[each.key].name}",
    "SharedAccessKey=${azurerm_iothub_shared_access_policy.events_reader[each.key].primary_key}",
    "EntityPath=${each.value.events_path}",
  ])
  depends_on = [azurerm_role_assignment.deployer_writes_secrets]
}

resource "azurerm_key_vault_secret" "base_registry_credentials" {
  name         = "base-registry-credentials"
  key_vault_id = azurerm_key_vault.connector.id
  content_type = "application/json"
  value        = jsonencode(var.base_registry_credentials)
  depends_on   = [azurerm_role_assignment.deployer_writes_secrets]
}

resource "azurerm_key_vault_secret" "storage_connection" {
  count        = local.by_identity ? 0 : 1
  name         = "storage-connection"
  key_vault_id = azurerm_key_vault.connector.id
  content_type = "Storage connection string of the Functions host and the app's tables"
  value        = azurerm_storage_account.connector.primary_connection_string
  depends_on   = [azurerm_role_assignment.deployer_writes_secrets]
}

resource "azurerm_key_vault_secret" "hub_connection" {
  for_each     = local.by_identity ? {} : local.hubs
  name         = "${each.key}-service-connection"
  key_vault_id = azurerm_key_vault.connector.id
  content_type = "IoT Hub service connection string (registry read/write, service connect)"
  value = join(";", [
    "HostName=${each.value.host_name}",
    "SharedAccessKeyName=${azurerm_iothub_shared_access_policy.service[each.key].name}",
    "SharedAccessKey=${azurerm_iothub_shared_access_policy.service[each.key].primary_key}",
  ])
  depends_on = [azurerm_role_assignment.deployer_writes_secrets]
}
