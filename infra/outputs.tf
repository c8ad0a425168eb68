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
  description = "Values for `helm install` of charts/iot-edge-connector: one virtual node per hub."
  value = {
    functionsUrl = "https://${local.app.default_hostname}"
    virtualNodes = [for name in sort(keys(var.hubs)) : { nodeName = "iot-edge-${lower(name)}", hubName = name }]
  }
}

output "hub_host_names" {
  description = "Host name of every hub the connector serves."
  value       = { for name, hub in local.hubs : name => hub.host_name }
}
