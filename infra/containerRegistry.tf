# An optional Azure Container Registry for the adapter image, built in Azure with `az acr build` (no
# local Docker engine), and AcrPull for the cluster's kubelet identity so the chart's pods pull it.
resource "azurerm_container_registry" "adapter" {
  count               = var.adapter_registry.create ? 1 : 0
  name                = "${local.unique_name}acr"
  resource_group_name = azurerm_resource_group.connector.name
  location            = azurerm_resource_group.connector.location
  sku                 = var.adapter_registry.sku
  admin_enabled       = false
  tags                = local.tags
}

resource "azurerm_role_assignment" "cluster_pulls_adapter" {
  count                = var.adapter_registry.create && var.adapter_registry.cluster_kubelet_principal_id != null ? 1 : 0
  scope                = azurerm_container_registry.adapter[0].id
  role_definition_name = "AcrPull"
  principal_id         = var.adapter_registry.cluster_kubelet_principal_id
  principal_type       = "ServicePrincipal"
}

locals {
  # The chart's image values when the registry holds the adapter; otherwise the chart's default
  # (the image .github/workflows/adapter-image.yml publishes).
  adapter_image = var.adapter_registry.create ? {
    repository = "${azurerm_container_registry.adapter[0].login_server}/iot-edge-connector/adapter"
    tag        = var.adapter_registry.image_tag
  } : null
}
