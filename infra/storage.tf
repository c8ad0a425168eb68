# The Functions host's storage: host locks and keys, the Durable task hub (queues, tables, blobs),
# the app's own tables and, on Flex Consumption, the deployment package container (always reached
# with the app's identity). Shared keys exist only in connection_mode "keys".
resource "azurerm_storage_account" "connector" {
  name                            = substr("${local.unique_name}sa", 0, 24)
  resource_group_name             = azurerm_resource_group.connector.name
  location                        = azurerm_resource_group.connector.location
  account_tier                    = "Standard"
  account_replication_type        = "LRS"
  min_tls_version                 = "TLS1_2"
  allow_nested_items_to_be_public = false
  shared_access_key_enabled       = !local.by_identity
  tags                            = local.tags
}

resource "azurerm_storage_container" "deployment_package" {
  count                 = var.hosting_plan == "FlexConsumption" ? 1 : 0
  name                  = "deployment-package"
  storage_account_id    = azurerm_storage_account.connector.id
  container_access_type = "private"
}
