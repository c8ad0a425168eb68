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
  description = "Values for `helm install -f` of charts/iot-edge-connector: one virtual node per hub. The function key Secret is created beside the release (docs/deploy-to-azure.md)."
  value = merge(local.adapter_image == null ? {} : { image = local.adapter_image }, {
    nodes = [for name in sort(keys(var.hubs)) : {
      name    = "iot-edge-${lower(name)}"
      hubName = name
      # host.json keeps the default route prefix.
      functionsUrl      = "https://${local.app.default_hostname}/api"
      functionKeySecret = { name = var.function_key_secret_name, key = "functionKey" }
    }]
  })
}

output "container_registry_name" {
  description = "The registry `az acr build --registry` builds the adapter image in (null without adapter_registry.create)."
  value       = var.adapter_registry.create ? azurerm_container_registry.adapter[0].name : null
}

output "hub_host_names" {
  description = "Host name of every hub the connector serves."
  value       = { for name, hub in local.hubs : name => hub.host_name }
}
