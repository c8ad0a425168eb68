# The Functions app's settings, computed from plain inputs only (no provider), so that a test can
# apply this module offline and hand its output to the app's own readAppSettings.
# Names follow lib/app/settings.ts (appSettingNames, hubSettingNames); test/infra checks they agree.
terraform {
  required_version = ">= 1.7"
}

variable "hubs" {
  description = <<-EOT
    Per hub name: how the app reaches it. Exactly one of host_name (managed identity) and connection
    (a Key Vault reference to a service connection string); events_connection is the eventHub
    trigger's connection value (a Key Vault reference).
  EOT
  type = map(object({
    host_name         = optional(string)
    connection        = optional(string)
    events_connection = string
    events_name       = string
    consumer_group    = string
    sku               = string
    units             = number
    base_deployment   = bool
  }))
  validation {
    condition     = alltrue([for hub in var.hubs : (hub.host_name == null) != (hub.connection == null)])
    error_message = "each hub needs exactly one of host_name and connection."
  }
}

variable "storage" {
  description = "Storage of the Functions host, the Durable task hub and the app's tables: account_name (managed identity) or connection (a Key Vault reference)."
  type = object({
    account_name = optional(string)
    connection   = optional(string)
  })
  validation {
    condition     = (var.storage.account_name == null) != (var.storage.connection == null)
    error_message = "storage needs exactly one of account_name and connection."
  }
}

variable "release_grace_seconds" {
  type = number
}

variable "task_hub_backlog_limit" {
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

variable "fleet_policy" {
  description = "FLEET_POLICY: the fleet policy document (YAML or JSON, docs/fleet-policy.md); empty: every node gets the default policy."
  type        = string
  default     = ""
}

variable "purge_schedule" {
  type = string
}

variable "nodes" {
  description = "The virtual nodes that may call the provider API: cluster, hub, node and the SHA-256 (hex) of the node's key."
  type = list(object({
    cluster    = string
    hub        = string
    node       = string
    key_sha256 = string
  }))
}

locals {
  # lib/app/settings.ts hubSettingPrefix: HUB_ + the name upper-cased, other characters as _.
  hub_prefix = { for name, hub in var.hubs : name => "HUB_${replace(upper(name), "/[^A-Z0-9]/", "_")}" }

  hub_settings = merge([for name, hub in var.hubs : merge(
    hub.host_name != null ? { "${local.hub_prefix[name]}_HOSTNAME" = hub.host_name } : {},
    hub.connection != null ? { "${local.hub_prefix[name]}_CONNECTION" = hub.connection } : {},
    {
      "${local.hub_prefix[name]}_EVENTS_CONNECTION" = hub.events_connection
      "${local.hub_prefix[name]}_EVENTS_NAME"       = hub.events_name
      "${local.hub_prefix[name]}_CONSUMER_GROUP"    = hub.consumer_group
      "${local.hub_prefix[name]}_SKU"               = hub.sku
      "${local.hub_prefix[name]}_UNITS"             = tostring(hub.units)
      "${local.hub_prefix[name]}_BASE_DEPLOYMENT"   = tostring(hub.base_deployment)
  })]...)

  # Host storage (blobs, queues, tables; also the Durable task hub and the app's own tables):
  # identity-based (`__accountName`) or a connection string.
  storage_settings = var.storage.account_name != null ? {
    "AzureWebJobsStorage__accountName" = var.storage.account_name
    } : {
    "AzureWebJobsStorage" = var.storage.connection
  }

  settings = merge(local.hub_settings, local.storage_settings, {
    "CONNECTOR_HUBS"                      = join(",", sort(keys(var.hubs)))
    "CONFIGURATION_RELEASE_GRACE_SECONDS" = tostring(var.release_grace_seconds)
    "RECONCILE_SCHEDULE"                  = var.reconcile_schedule
    "TASK_HUB_BACKLOG_LIMIT"              = tostring(var.task_hub_backlog_limit)
    "BASE_DEPLOYMENT_TARGET_CONDITION"    = var.base_target_condition
    "BASE_EDGE_AGENT_IMAGE"               = var.base_edge_agent_image
    "BASE_EDGE_HUB_IMAGE"                 = var.base_edge_hub_image
    "BASE_REGISTRY_CREDENTIALS"           = var.base_registry_credentials
    "FLEET_POLICY"                        = var.fleet_policy
    "LOG_LEVEL"                           = var.log_level
    "PURGE_SCHEDULE"                      = var.purge_schedule
    # lib/app/settings.ts CONNECTOR_NODES: [{cluster, hub, node, keySha256}]
    "CONNECTOR_NODES" = jsonencode([for node in var.nodes : {
      cluster   = node.cluster
      hub       = node.hub
      node      = node.node
      keySha256 = node.key_sha256
    }])
  })
}

output "settings" {
  description = "App settings of the connector: name → value (secrets only as Key Vault references)."
  value       = local.settings
}
