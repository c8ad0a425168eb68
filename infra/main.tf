# The Azure side of the IoT Edge Connector: a Functions app (Node 22) with its storage, monitoring
# and managed identity, a Key Vault for the few secrets, and the IoT Hubs it serves.
data "azurerm_client_config" "current" {}

locals {
  resource_group_name = coalesce(var.resource_group_name, "${var.name}-rg")
  # Storage account and Key Vault names are global: a suffix stable per subscription and name
  # (no random provider: the checks run offline with azurerm alone).
  unique_name = "${var.name}${substr(sha1("${data.azurerm_client_config.current.subscription_id}/${var.name}"), 0, 6)}"
  tags        = merge({ "app" = "iot-edge-connector" }, var.tags)
  by_identity = var.connection_mode == "identity"
}

resource "azurerm_resource_group" "connector" {
  name     = local.resource_group_name
  location = var.location
  tags     = local.tags
}

resource "azurerm_log_analytics_workspace" "connector" {
  name                = "${var.name}-logs"
  resource_group_name = azurerm_resource_group.connector.name
  location            = azurerm_resource_group.connector.location
  sku                 = "PerGB2018"
  retention_in_days   = 30
  tags                = local.tags
}

resource "azurerm_application_insights" "connector" {
  name                = "${var.name}-insights"
  resource_group_name = azurerm_resource_group.connector.name
  location            = azurerm_resource_group.connector.location
  workspace_id        = azurerm_log_analytics_workspace.connector.id
  application_type    = "Node.JS"
  tags                = local.tags
}

module "app_settings" {
  source = "./modules/app-settings"

  hubs = { for name, hub in local.hubs : name => {
    host_name         = local.by_identity ? hub.host_name : null
    connection        = local.by_identity ? null : "@Microsoft.KeyVault(SecretUri=${azurerm_key_vault_secret.hub_connection[name].versionless_id})"
    events_connection = "@Microsoft.KeyVault(SecretUri=${azurerm_key_vault_secret.events_connection[name].versionless_id})"
    events_name       = hub.events_path
    consumer_group    = var.hubs[name].consumer_group
    sku               = var.hubs[name].sku
    units             = var.hubs[name].units
    base_deployment   = coalesce(var.hubs[name].base_deployment, var.hubs[name].existing_resource_id == null)
  } }
  storage = local.by_identity ? { account_name = azurerm_storage_account.connector.name, connection = null } : {
    account_name = null
    connection   = "@Microsoft.KeyVault(SecretUri=${azurerm_key_vault_secret.storage_connection[0].versionless_id})"
  }
  release_grace_seconds     = var.release_grace_seconds
  reconcile_schedule        = var.reconcile_schedule
  task_hub_backlog_limit    = var.task_hub_backlog_limit
  base_target_condition     = var.base_deployment.target_condition
  base_edge_agent_image     = var.base_deployment.edge_agent_image
  base_edge_hub_image       = var.base_deployment.edge_hub_image
  base_registry_credentials = "@Microsoft.KeyVault(SecretUri=${azurerm_key_vault_secret.base_registry_credentials.versionless_id})"
  log_level                 = var.log_level
  fleet_policy              = var.fleet_policy
  purge_schedule            = var.purge_schedule
  nodes = [for id, node in local.virtual_nodes : {
    cluster    = node.cluster
    hub        = node.hub
    node       = node.name
    key_sha256 = local.node_key_sha256[id]
  }]
}
