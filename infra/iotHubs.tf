# The IoT Hubs the connector serves: new ones created here, existing ones referred to by resource id.
# On each: twin change and connection state events routed to the built-in endpoint, a consumer group
# for the app and a read-only (service connect) policy for the app's eventHub trigger; on new hubs,
# the fallback route kept on the built-in endpoint for device telemetry.
locals {
  new_hubs = { for name, hub in var.hubs : name => hub if hub.existing_resource_id == null }
  existing_hubs = { for name, hub in var.hubs : name => {
    # /subscriptions/<s>/resourceGroups/<group>/providers/Microsoft.Devices/IotHubs/<name>
    resource_group_name = split("/", hub.existing_resource_id)[4]
    id                  = hub.existing_resource_id
  } if hub.existing_resource_id != null }

  # What the rest of the module needs of every hub, new or existing.
  hubs = merge(
    { for name, hub in azurerm_iothub.new : name => {
      id                  = hub.id
      resource_group_name = hub.resource_group_name
      host_name           = hub.hostname
      events_endpoint     = hub.event_hub_events_endpoint
      events_path         = hub.event_hub_events_path
    } },
    { for name, hub in local.existing_hubs : name => {
      id                  = hub.id
      resource_group_name = hub.resource_group_name
      host_name           = data.azurerm_iothub.existing[name].hostname
      events_endpoint     = var.hubs[name].events_endpoint
      events_path         = var.hubs[name].events_path
    } },
  )

  routed_event_sources = {
    twin-change      = "TwinChangeEvents"
    connection-state = "DeviceConnectionStateEvents"
  }
  routes = merge([for name, hub in var.hubs : {
    for route, source in local.routed_event_sources : "${name}/${route}" => { hub = name, route = route, source = source }
  }]...)
}

resource "azurerm_iothub" "new" {
  for_each            = local.new_hubs
  name                = each.key
  resource_group_name = azurerm_resource_group.connector.name
  location            = azurerm_resource_group.connector.location
  # Edge deployments and module twins need the standard (or free) tier.
  sku {
    name     = each.value.sku
    capacity = each.value.units
  }
  # With any route in place, device telemetry that matches none reaches `events` only through the
  # fallback route: keep it enabled so the connector's routes never silence telemetry readers.
  # (Inline: the separate azurerm_iothub_fallback_route refuses the built-in endpoint's name.)
  fallback_route {
    source         = "DeviceMessages"
    condition      = "true"
    endpoint_names = ["events"]
    enabled        = true
  }
  tags = local.tags

  # Routes are their own resources below (the same way for new and existing hubs): the hub
  # resource must not remove them.
  lifecycle {
    ignore_changes = [route]
  }
}

data "azurerm_iothub" "existing" {
  for_each            = local.existing_hubs
  name                = each.key
  resource_group_name = each.value.resource_group_name
}

resource "azurerm_iothub_route" "events" {
  for_each            = local.routes
  name                = "iot-edge-connector-${each.value.route}"
  resource_group_name = local.hubs[each.value.hub].resource_group_name
  iothub_name         = each.value.hub
  source              = each.value.source
  condition           = "true"
  endpoint_names      = ["events"]
  enabled             = true
  depends_on          = [azurerm_iothub.new]
}

resource "azurerm_iothub_consumer_group" "connector" {
  for_each               = var.hubs
  name                   = each.value.consumer_group
  iothub_name            = each.key
  eventhub_endpoint_name = "events"
  resource_group_name    = local.hubs[each.key].resource_group_name
  depends_on             = [azurerm_iothub.new]
}

# Reading the built-in endpoint needs a shared access key (it has no Entra ID sign-in):
# service connect only, no registry rights.
resource "azurerm_iothub_shared_access_policy" "events_reader" {
  for_each            = var.hubs
  name                = "iot-edge-connector-events"
  resource_group_name = local.hubs[each.key].resource_group_name
  iothub_name         = each.key
  service_connect     = true
  depends_on          = [azurerm_iothub.new]
}

# connection_mode "keys": the app's service connection, the rights its hub operations need
# (configurations and twins: registry read/write; module methods and twins: service connect).
resource "azurerm_iothub_shared_access_policy" "service" {
  for_each            = local.by_identity ? {} : var.hubs
  name                = "iot-edge-connector-service"
  resource_group_name = local.hubs[each.key].resource_group_name
  iothub_name         = each.key
  registry_read       = true
  registry_write      = true
  service_connect     = true
  depends_on          = [azurerm_iothub.new]
}
