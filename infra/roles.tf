# What the app's identity may do, and nothing more.
locals {
  # Durable Functions over identity-based storage needs blobs (leases, large messages, deployment
  # package), queues (work items) and tables (history, instances, the app's tables). With keys, only
  # Flex's deployment package container is reached by identity.
  storage_roles = local.by_identity ? toset([
    "Storage Blob Data Owner",
    "Storage Queue Data Contributor",
    "Storage Table Data Contributor",
  ]) : local.flex ? toset(["Storage Blob Data Contributor"]) : toset([])
}

resource "azurerm_role_assignment" "app_storage" {
  for_each             = local.storage_roles
  scope                = azurerm_storage_account.connector.id
  role_definition_name = each.key
  principal_id         = local.app.principal_id
  principal_type       = "ServicePrincipal"
}

resource "azurerm_role_assignment" "app_reads_secrets" {
  scope                = azurerm_key_vault.connector.id
  role_definition_name = "Key Vault Secrets User"
  principal_id         = local.app.principal_id
  principal_type       = "ServicePrincipal"
}

# connection_mode "identity": the hub's service API, narrower than "IoT Hub Data Contributor": deployments (configurations),
# twins (device cache, tags, module twins), direct methods (GetModuleLogs). No device identities,
# no cloud-to-device messages, no jobs.
resource "azurerm_role_definition" "hub_operator" {
  count       = local.by_identity ? 1 : 0
  name        = "IoT Edge Connector hub operator (${var.name})"
  scope       = "/subscriptions/${data.azurerm_client_config.current.subscription_id}"
  description = "Lets the IoT Edge Connector manage edge deployments, read and update twins and call module methods."
  permissions {
    data_actions = [
      "Microsoft.Devices/IotHubs/configurations/read",
      "Microsoft.Devices/IotHubs/configurations/write",
      "Microsoft.Devices/IotHubs/configurations/delete",
      "Microsoft.Devices/IotHubs/configurations/applyToEdgeDevice/action",
      "Microsoft.Devices/IotHubs/twins/read",
      "Microsoft.Devices/IotHubs/twins/write",
      "Microsoft.Devices/IotHubs/directMethods/invoke/action",
    ]
  }
  assignable_scopes = ["/subscriptions/${data.azurerm_client_config.current.subscription_id}"]
}

resource "azurerm_role_assignment" "app_operates_hub" {
  for_each           = local.by_identity ? local.hubs : {}
  scope              = each.value.id
  role_definition_id = azurerm_role_definition.hub_operator[0].role_definition_resource_id
  principal_id       = local.app.principal_id
  principal_type     = "ServicePrincipal"
}
