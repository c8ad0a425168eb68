output "resource_group_name" {
  description = "Resource group of the connector's resources."
  value       = azurerm_resource_group.connector.name
}

output "function_app_name" {
  description = "Name for `func azure functionapp publish`."
  value       = local.app.name
}

output "function_app_url" {
  description = "Base URL of the app (the adapter's functionsUrl)."
  value       = "https://${local.app.default_hostname}"
}

output "adapter_chart_values" {
  description = "Values for `helm install -f` of charts/iot-edge-connector, per cluster id: that cluster's virtual nodes, each with its own key Secret (created beside the release from node_keys, docs/deploy-to-azure.md)."
  value = { for cluster in distinct([for node in var.virtual_nodes : node.cluster]) : cluster => merge(local.adapter_image == null ? {} : { image = local.adapter_image }, {
    nodes = [for id, node in local.virtual_nodes : {
      name    = node.name
      hubName = node.hub
      # host.json keeps the default route prefix.
      functionsUrl      = "https://${local.app.default_hostname}/api"
      functionKeySecret = { name = local.node_key_secret_names[id], key = "functionKey" }
      namespaces        = node.namespaces
    } if node.cluster == cluster]
  }) }
}

output "node_keys" {
  description = "Each virtual node's key (\"<cluster>/<node>\" → key), for the Secret its adapter mounts; also in the host keys vault. Sensitive."
  value       = { for id, key in local.node_keys : id => key }
  sensitive   = true
}

output "container_registry_name" {
  description = "The registry `az acr build --registry` builds the adapter image in (null without adapter_registry.create)."
  value       = var.adapter_registry.create ? azurerm_container_registry.adapter[0].name : null
}

output "hub_host_names" {
  description = "Host name of every hub the connector serves."
  value       = { for name, hub in local.hubs : name => hub.host_name }
}
