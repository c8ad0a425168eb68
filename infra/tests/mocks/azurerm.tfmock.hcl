# Values the mocked azurerm provider returns where the configuration needs realistic ones.
mock_data "azurerm_client_config" {
  defaults = {
    subscription_id = "00000000-0000-0000-0000-00000000aaaa"
    tenant_id       = "00000000-0000-0000-0000-00000000bbbb"
    object_id       = "00000000-0000-0000-0000-00000000cccc"
  }
}

mock_data "azurerm_iothub" {
  defaults = {
    hostname = "existing-hub.azure-devices.net"
  }
}

mock_resource "azurerm_iothub" {
  defaults = {
    hostname                  = "new-hub.azure-devices.net"
    event_hub_events_endpoint = "sb://iothub-ns-new-hub.servicebus.windows.net/"
    event_hub_events_path     = "new-hub"
  }
}

mock_resource "azurerm_key_vault_secret" {
  defaults = {
    versionless_id = "https://edgeconn.vault.azure.net/secrets/mocked"
  }
}

mock_resource "azurerm_storage_account" {
  defaults = {
    primary_blob_endpoint = "https://edgeconnsa.blob.core.windows.net/"
  }
}

mock_resource "azurerm_function_app_flex_consumption" {
  defaults = {
    default_hostname = "edgeconn-edge.azurewebsites.net"
    identity = [{
      type         = "SystemAssigned"
      principal_id = "00000000-0000-0000-0000-00000000dddd"
      tenant_id    = "00000000-0000-0000-0000-00000000bbbb"
      identity_ids = []
    }]
  }
}

mock_resource "azurerm_linux_function_app" {
  defaults = {
    default_hostname = "edgeconn-edge.azurewebsites.net"
    identity = [{
      type         = "SystemAssigned"
      principal_id = "00000000-0000-0000-0000-00000000eeee"
      tenant_id    = "00000000-0000-0000-0000-00000000bbbb"
      identity_ids = []
    }]
  }
}
