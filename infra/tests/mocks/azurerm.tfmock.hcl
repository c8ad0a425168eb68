# Values the mocked azurerm provider returns where the configuration needs realistic ones: the
# provider still checks ids it is given (a scope, a workspace id) at plan time.
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
    id                        = "/subscriptions/00000000-0000-0000-0000-00000000aaaa/resourceGroups/edgeconn-rg/providers/Microsoft.Devices/IotHubs/new-hub"
    hostname                  = "new-hub.azure-devices.net"
    event_hub_events_endpoint = "sb://iothub-ns-new-hub.servicebus.windows.net/"
    event_hub_events_path     = "new-hub"
  }
}

mock_resource "azurerm_key_vault_secret" {
  defaults = {
    id             = "https://edgeconn.vault.azure.net/secrets/mocked/0123456789abcdef"
    versionless_id = "https://edgeconn.vault.azure.net/secrets/mocked"
  }
}

mock_resource "azurerm_storage_account" {
  defaults = {
    id                    = "/subscriptions/00000000-0000-0000-0000-00000000aaaa/resourceGroups/edgeconn-rg/providers/Microsoft.Storage/storageAccounts/edgeconnsa"
    primary_blob_endpoint = "https://edgeconnsa.blob.core.windows.net/"
  }
}

mock_resource "azurerm_function_app_flex_consumption" {
  defaults = {
    id               = "/subscriptions/00000000-0000-0000-0000-00000000aaaa/resourceGroups/edgeconn-rg/providers/Microsoft.Web/sites/edgeconn-edge"
    default_hostname = "edgeconn-edge.azurewebsites.net"
    identity = {
      principal_id = "00000000-0000-0000-0000-00000000dddd"
      tenant_id    = "00000000-0000-0000-0000-00000000bbbb"
    }
  }
}

mock_resource "azurerm_linux_function_app" {
  defaults = {
    id               = "/subscriptions/00000000-0000-0000-0000-00000000aaaa/resourceGroups/edgeconn-rg/providers/Microsoft.Web/sites/edgeconn-edge"
    default_hostname = "edgeconn-edge.azurewebsites.net"
    identity = {
      principal_id = "00000000-0000-0000-0000-00000000eeee"
      tenant_id    = "00000000-0000-0000-0000-00000000bbbb"
    }
  }
}

mock_resource "azurerm_resource_group" {
  defaults = {
    id = "/subscriptions/00000000-0000-0000-0000-00000000aaaa/resourceGroups/edgeconn-rg"
  }
}

mock_resource "azurerm_log_analytics_workspace" {
  defaults = {
    id = "/subscriptions/00000000-0000-0000-0000-00000000aaaa/resourceGroups/edgeconn-rg/providers/Microsoft.OperationalInsights/workspaces/edgeconn-logs"
  }
}

mock_resource "azurerm_application_insights" {
  defaults = {
    id = "/subscriptions/00000000-0000-0000-0000-00000000aaaa/resourceGroups/edgeconn-rg/providers/Microsoft.Insights/components/edgeconn-insights"
  }
}

mock_resource "azurerm_storage_container" {
  defaults = {
    id = "/subscriptions/00000000-0000-0000-0000-00000000aaaa/resourceGroups/edgeconn-rg/providers/Microsoft.Storage/storageAccounts/edgeconnsa/blobServices/default/containers/deployment-package"
  }
}

mock_resource "azurerm_key_vault" {
  defaults = {
    id = "/subscriptions/00000000-0000-0000-0000-00000000aaaa/resourceGroups/edgeconn-rg/providers/Microsoft.KeyVault/vaults/edgeconnkv"
  }
}

mock_resource "azurerm_service_plan" {
  defaults = {
    id = "/subscriptions/00000000-0000-0000-0000-00000000aaaa/resourceGroups/edgeconn-rg/providers/Microsoft.Web/serverFarms/edgeconn-plan"
  }
}

mock_resource "azurerm_role_assignment" {
  defaults = {
    id = "/subscriptions/00000000-0000-0000-0000-00000000aaaa/providers/Microsoft.Authorization/roleAssignments/00000000-0000-0000-0000-000000000001"
  }
}

mock_resource "azurerm_role_definition" {
  defaults = {
    role_definition_resource_id = "/subscriptions/00000000-0000-0000-0000-00000000aaaa/providers/Microsoft.Authorization/roleDefinitions/00000000-0000-0000-0000-000000000002"
  }
}

mock_resource "azurerm_container_registry" {
  defaults = {
    id           = "/subscriptions/00000000-0000-0000-0000-00000000aaaa/resourceGroups/edgeconn-rg/providers/Microsoft.ContainerRegistry/registries/edgeconnacr"
    login_server = "edgeconnacr.azurecr.io"
  }
}
