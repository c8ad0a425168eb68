# The Functions app (Node 22, v4 programming model) on Flex Consumption, or Elastic Premium when
# chosen. Its system-assigned identity reaches storage, Key Vault and the hubs; no account key or
# hub connection string is in its settings.
locals {
  flex     = var.hosting_plan == "FlexConsumption"
  app_name = "${var.name}-edge-${substr(sha1("${data.azurerm_client_config.current.subscription_id}/${var.name}"), 0, 6)}"
  # The single app that exists, whichever plan made it.
  app = local.flex ? {
    name             = azurerm_function_app_flex_consumption.connector[0].name
    default_hostname = azurerm_function_app_flex_consumption.connector[0].default_hostname
    principal_id     = azurerm_function_app_flex_consumption.connector[0].identity[0].principal_id
    } : {
    name             = azurerm_linux_function_app.connector[0].name
    default_hostname = azurerm_linux_function_app.connector[0].default_hostname
    principal_id     = azurerm_linux_function_app.connector[0].identity[0].principal_id
  }
}

resource "azurerm_service_plan" "connector" {
  name                         = "${var.name}-plan"
  resource_group_name          = azurerm_resource_group.connector.name
  location                     = azurerm_resource_group.connector.location
  os_type                      = "Linux"
  sku_name                     = local.flex ? "FC1" : var.elastic_premium_sku
  maximum_elastic_worker_count = local.flex ? null : 20
  tags                         = local.tags
}

resource "azurerm_function_app_flex_consumption" "connector" {
  count               = local.flex ? 1 : 0
  name                = local.app_name
  resource_group_name = azurerm_resource_group.connector.name
  location            = azurerm_resource_group.connector.location
  service_plan_id     = azurerm_service_plan.connector.id

  runtime_name           = "node"
  runtime_version        = "22"
  maximum_instance_count = var.flex_maximum_instance_count
  instance_memory_in_mb  = var.flex_instance_memory_mb

  storage_container_type      = "blobContainer"
  storage_container_endpoint  = "${azurerm_storage_account.connector.primary_blob_endpoint}${azurerm_storage_container.deployment_package[0].name}"
  storage_authentication_type = "SystemAssignedIdentity"

  https_only                                     = true
  webdeploy_publish_basic_authentication_enabled = false
  identity {
    type = "SystemAssigned"
  }
  app_settings = merge(module.app_settings.settings, local.host_key_settings)
  site_config {
    application_insights_connection_string = azurerm_application_insights.connector.connection_string
  }
  tags = local.tags
}

resource "azurerm_linux_function_app" "connector" {
  count               = local.flex ? 0 : 1
  name                = local.app_name
  resource_group_name = azurerm_resource_group.connector.name
  location            = azurerm_resource_group.connector.location
  service_plan_id     = azurerm_service_plan.connector.id

  # With keys, host storage is the same Key Vault reference as AzureWebJobsStorage in app_settings.
  storage_account_name          = local.by_identity ? azurerm_storage_account.connector.name : null
  storage_uses_managed_identity = local.by_identity ? true : null
  storage_key_vault_secret_id   = local.by_identity ? null : azurerm_key_vault_secret.storage_connection[0].versionless_id
  # No Azure Files content share (it would need an account key): the app runs from its package.
  content_share_force_disabled = true
  functions_extension_version  = "~4"

  https_only                                     = true
  webdeploy_publish_basic_authentication_enabled = false
  identity {
    type = "SystemAssigned"
  }
  app_settings = merge(module.app_settings.settings, local.host_key_settings)
  site_config {
    always_on                              = false
    elastic_instance_minimum               = 1
    application_insights_connection_string = azurerm_application_insights.connector.connection_string
    application_stack {
      node_version = "22"
    }
  }
  tags = local.tags
}
