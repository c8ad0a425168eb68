# The Functions app's settings, computed from plain inputs only (no provider), so that a test can
# apply this module offline and hand its output to the app's own readAppSettings.
# Names follow lib/app/settings.ts (appSettingNames, hubSettingNames); test/infra checks they agree.
terraform {
  required_version = ">= 1.7"
}

variable "hubs" {
  description = "Per hub name: how the app reaches it. events_connection is the eventHub trigger's connection value (a Key Vault reference)."
  type = map(object({
    host_name         = string
    events_connection = string
    events_name       = string
    consumer_group    = string
    sku               = string
    units             = number
    base_deployment   = bool
  }))
}

variable "storage_account_name" {
  description = "Storage account of the Functions host and the Durable task hub, reached with the app's managed identity."
  type        = string
}

variable "release_grace_seconds" {
  type = number
}

variable "reconcile_schedule" {
  type = string
}

variable "base_target_condition" {
  type = string
}

variable "base_edge_agent_image" {
  type = string
}

variable "base_edge_hub_image" {
  type = string
}

variable "base_registry_credentials" {
  description = "BASE_REGISTRY_CREDENTIALS value: a Key Vault reference to the JSON of the credentials."
  type        = string
}

variable "log_level" {
  type = string
}

locals {
  # lib/app/settings.ts hubSettingPrefix: HUB_ + the name upper-cased, other characters as _.
  hub_prefix = { for name, hub in var.hubs : name => "HUB_${replace(upper(name), "/[^A-Z0-9]/", "_")}" }

  hub_settings = merge([for name, hub in var.hubs : {
    # The managed identity reaches the hub's service API; no connection string anywhere.
    "${local.hub_prefix[name]}_HOSTNAME"          = hub.host_name
    "${local.hub_prefix[name]}_EVENTS_CONNECTION" = hub.events_connection
    "${local.hub_prefix[name]}_EVENTS_NAME"       = hub.events_name
    "${local.hub_prefix[name]}_CONSUMER_GROUP"    = hub.consumer_group
    "${local.hub_prefix[name]}_SKU"               = hub.sku
    "${local.hub_prefix[name]}_UNITS"             = tostring(hub.units)
    "${local.hub_prefix[name]}_BASE_DEPLOYMENT"   = tostring(hub.base_deployment)
  }]...)

  settings = merge(local.hub_settings, {
    # Identity-based host storage (blobs, queues, tables; also the Durable task hub).
    "AzureWebJobsStorage__accountName"    = var.storage_account_name
    "CONNECTOR_HUBS"                      = join(",", sort(keys(var.hubs)))
    "CONFIGURATION_RELEASE_GRACE_SECONDS" = tostring(var.release_grace_seconds)
    "RECONCILE_SCHEDULE"                  = var.reconcile_schedule
    "BASE_DEPLOYMENT_TARGET_CONDITION"    = var.base_target_condition
    "BASE_EDGE_AGENT_IMAGE"               = var.base_edge_agent_image
    "BASE_EDGE_HUB_IMAGE"                 = var.base_edge_hub_image
    "BASE_REGISTRY_CREDENTIALS"           = var.base_registry_credentials
    "LOG_LEVEL"                           = var.log_level
  })
}

output "settings" {
  description = "App settings of the connector: name → value (secrets only as Key Vault references)."
  value       = local.settings
}
