variable "name" {
  description = "Base name of everything created (letters and digits, 3-16): the Function App is <name>-func, the storage account <name>sa<suffix>."
  type        = string
  validation {
    condition     = can(regex("^[a-z][a-z0-9]{2,15}$", var.name))
    error_message = "name must be 3-16 lower-case letters and digits, starting with a letter (it is part of the storage account and Key Vault names)."
  }
}

variable "location" {
  description = "Azure region of the new resources (Flex Consumption must be offered there)."
  type        = string
}

variable "resource_group_name" {
  description = "Resource group to create for the connector; empty: <name>-rg."
  type        = string
  default     = ""
}

variable "hosting_plan" {
  description = "FlexConsumption (FC1, scales to zero) or ElasticPremium (EP1/EP2/EP3, always warm)."
  type        = string
  default     = "FlexConsumption"
  validation {
    condition     = contains(["FlexConsumption", "ElasticPremium"], var.hosting_plan)
    error_message = "hosting_plan must be FlexConsumption or ElasticPremium."
  }
}

variable "elastic_premium_sku" {
  description = "Plan SKU when hosting_plan is ElasticPremium."
  type        = string
  default     = "EP1"
  validation {
    condition     = contains(["EP1", "EP2", "EP3"], var.elastic_premium_sku)
    error_message = "elastic_premium_sku must be EP1, EP2 or EP3."
  }
}

variable "flex_maximum_instance_count" {
  description = "Flex Consumption: most instances the app scales out to."
  type        = number
  default     = 40
}

variable "flex_instance_memory_mb" {
  description = "Flex Consumption: memory of one instance (2048 or 4096)."
  type        = number
  default     = 2048
}

variable "connection_mode" {
  description = <<-EOT
    How the app reaches its storage and the hubs' service API. "identity" (the default): the app's
    system-assigned managed identity (AzureWebJobsStorage__accountName, HUB_<NAME>_HOSTNAME, no shared
    keys on the storage account) with the roles in roles.tf. "keys": connection strings kept in Key
    Vault (AzureWebJobsStorage, HUB_<NAME>_CONNECTION), for a subscription where the deployer may not
    assign roles. Either way each hub's built-in endpoint is read with its service-connect key from
    Key Vault: the built-in Event Hub-compatible endpoint takes no Entra ID token.
  EOT
  type        = string
  default     = "identity"
  validation {
    condition     = contains(["keys", "identity"], var.connection_mode)
    error_message = "connection_mode must be keys or identity."
  }
}

variable "hubs" {
  description = <<-EOT
    The IoT Hubs the connector serves, keyed by hub name (becomes CONNECTOR_HUBS).
    A new hub: give sku and units. An existing hub: give existing_resource_id and its built-in endpoint
    (`az iot hub show -n NAME --query properties.eventHubEndpoints.events` → endpoint and path); sku and
    units must then say what the hub is, as the app spends that budget.
    A new hub gets its fallback route enabled towards `events`; an existing hub's is its owner's to keep.
    base_deployment: whether the app owns the hub's base deployment (edgeAgent, edgeHub, the default route),
    which layered pods need on their devices. Default: true for a new hub, false for an existing one (its
    owner may run a base deployment of their own; two would compete for the runtime).
  EOT
  type = map(object({
    existing_resource_id = optional(string)
    events_endpoint      = optional(string)
    events_path          = optional(string)
    sku                  = optional(string, "S1")
    units                = optional(number, 1)
    consumer_group       = optional(string, "iot-edge-connector")
    base_deployment      = optional(bool)
  }))
  validation {
    condition     = length(var.hubs) > 0
    error_message = "hubs must name at least one IoT Hub."
  }
  validation {
    condition     = alltrue([for name, hub in var.hubs : can(regex("^[a-zA-Z0-9][a-zA-Z0-9-]{1,48}[a-zA-Z0-9]$", name))])
    error_message = "hubs: every key must be a valid IoT Hub name (3-50 letters, digits and hyphens)."
  }
  validation {
    condition     = alltrue([for hub in var.hubs : contains(["F1", "S1", "S2", "S3"], hub.sku)])
    error_message = "hubs[*].sku must be one of F1, S1, S2, S3 (edge deployments need a standard or free hub)."
  }
  validation {
    condition     = alltrue([for hub in var.hubs : hub.units >= 1 && floor(hub.units) == hub.units])
    error_message = "hubs[*].units must be a whole number of at least 1."
  }
  validation {
    # (A conditional, not ||: Terraform evaluates both sides of ||.)
    condition = alltrue([for name, hub in var.hubs : hub.existing_resource_id == null ? true : (
      can(regex("(?i)^/subscriptions/[^/]+/resourceGroups/[^/]+/providers/Microsoft\\.Devices/IotHubs/[^/]+$", hub.existing_resource_id)) &&
      try(lower(split("/", hub.existing_resource_id)[8]) == lower(name), false)
    )])
    error_message = "hubs[*].existing_resource_id must be an IoT Hub resource id (/subscriptions/…/resourceGroups/…/providers/Microsoft.Devices/IotHubs/<name>) whose last part is the map key."
  }
  validation {
    condition = alltrue([for hub in var.hubs : hub.existing_resource_id == null ? true : (
      can(regex("^sb://[^/]+/?$", hub.events_endpoint)) && try(length(hub.events_path) > 0, false)
    )])
    error_message = "hubs[*]: an existing hub needs events_endpoint (sb://….servicebus.windows.net/) and events_path of its built-in endpoint."
  }
}

variable "release_grace_seconds" {
  description = "CONFIGURATION_RELEASE_GRACE_SECONDS: how long an unwanted configuration stays on the hub before it is deleted."
  type        = number
  default     = 60
}

variable "purge_schedule" {
  description = "PURGE_SCHEDULE: NCRONTAB of the timer that purges the durable history of finished orchestrations."
  type        = string
  default     = "0 * * * * *"
}

variable "reconcile_schedule" {
  description = "RECONCILE_SCHEDULE: NCRONTAB of the timer that cross-checks the hubs' configuration metrics."
  type        = string
  default     = "0 */5 * * * *"
}

variable "task_hub_backlog_limit" {
  description = "TASK_HUB_BACKLOG_LIMIT: visible messages waiting in the Durable task hub's queues above which the provider API answers a PUT 503 with Retry-After; 0: no limit (docs/benchmarks.md)."
  type        = number
  default     = 20
  validation {
    condition     = var.task_hub_backlog_limit >= 0 && floor(var.task_hub_backlog_limit) == var.task_hub_backlog_limit
    error_message = "task_hub_backlog_limit: must be a whole number >= 0."
  }
}

variable "base_deployment" {
  description = "The base deployment the app owns on hubs with base_deployment = true."
  type = object({
    target_condition = optional(string, "*")
    edge_agent_image = optional(string, "mcr.microsoft.com/azureiotedge-agent:1.5")
    edge_hub_image   = optional(string, "mcr.microsoft.com/azureiotedge-hub:1.5")
  })
  default = {}
}

variable "base_registry_credentials" {
  description = "Registry credentials for the base deployment (name → {address, username, password}); kept in Key Vault."
  type = map(object({
    address  = string
    username = string
    password = string
  }))
  default   = {}
  sensitive = true
}

variable "fleet_policy" {
  description = "FLEET_POLICY: the fleet policy (YAML or JSON text, e.g. file(\"fleet-policy.yaml\")): what each namespace may run on each virtual node, and on which devices (docs/fleet-policy.md). Empty: every node gets the default policy."
  type        = string
  default     = ""
}

variable "log_level" {
  description = "LOG_LEVEL of the app (pino level)."
  type        = string
  default     = "info"
  validation {
    condition     = contains(["fatal", "error", "warn", "info", "debug", "trace"], var.log_level)
    error_message = "log_level must be one of fatal, error, warn, info, debug, trace."
  }
}

variable "tags" {
  description = "Tags on every resource created."
  type        = map(string)
  default     = {}
}

variable "virtual_nodes" {
  description = <<-EOT
    The virtual nodes (one adapter each, installed by the chart) that may call the provider API. Each
    gets its own key, bound by the app to its name, its hub and its cluster: a cluster id (a DNS label
    you choose per Kubernetes cluster) keeps two clusters' nodes of the same name apart. namespaces:
    the namespaces whose pods the node serves (the chart lets the adapter read ConfigMaps and Secrets
    there only).
  EOT
  type = list(object({
    cluster    = string
    name       = string
    hub        = string
    namespaces = optional(list(string), ["default"])
  }))
  validation {
    condition     = length(var.virtual_nodes) > 0
    error_message = "virtual_nodes must name at least one node."
  }
  validation {
    condition     = alltrue([for node in var.virtual_nodes : can(regex("^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$", node.cluster))])
    error_message = "virtual_nodes[*].cluster must be a DNS label (lower-case letters, digits, '-', at most 63)."
  }
  validation {
    condition     = alltrue([for node in var.virtual_nodes : can(regex("^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$", node.name))])
    error_message = "virtual_nodes[*].name must be a Kubernetes node name (a DNS subdomain)."
  }
  validation {
    condition     = alltrue([for node in var.virtual_nodes : contains(keys(var.hubs), node.hub)])
    error_message = "virtual_nodes[*].hub must be one of the hubs."
  }
  validation {
    condition     = length(distinct([for node in var.virtual_nodes : "${node.cluster}/${node.name}"])) == length(var.virtual_nodes)
    error_message = "virtual_nodes: a node name may appear once per cluster."
  }
}

variable "adapter_registry" {
  description = <<-EOT
    An Azure Container Registry for the adapter image (`npm run deploy` builds it there with `az acr build`).
    cluster_kubelet_principal_id: the object id of the cluster's kubelet identity, granted AcrPull
    (AKS: `az aks show -g RG -n CLUSTER --query identityProfile.kubeletidentity.objectId -o tsv`);
    without it, give the cluster pull rights yourself (`az aks update --attach-acr`) or an imagePullSecret.
    image_tag: the tag built and written into the chart values.
  EOT
  type = object({
    create                       = optional(bool, false)
    sku                          = optional(string, "Basic")
    cluster_kubelet_principal_id = optional(string)
    image_tag                    = optional(string, "0.1.0")
  })
  default = {}
  validation {
    condition     = contains(["Basic", "Standard", "Premium"], var.adapter_registry.sku)
    error_message = "adapter_registry.sku must be Basic, Standard or Premium."
  }
  validation {
    condition     = can(regex("^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$", var.adapter_registry.image_tag))
    error_message = "adapter_registry.image_tag must be a container image tag (letters, digits, '_', '.', '-'; at most 128)."
  }
}
