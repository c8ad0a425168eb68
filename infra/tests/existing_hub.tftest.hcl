# An existing hub referred to by resource id (in another resource group), beside a new one, on
# Elastic Premium, the app reaching storage and hubs with connection strings from Key Vault
# (connection_mode "keys", chosen; the default is "identity"). The azurerm provider is mocked.
mock_provider "azurerm" {
  source = "./tests/mocks"
}

variables {
  name            = "edgeconn"
  location        = "westeurope"
  hosting_plan    = "ElasticPremium"
  connection_mode = "keys"
  hubs = {
    "factory-7" = {
      existing_resource_id = "/subscriptions/00000000-0000-0000-0000-00000000aaaa/resourceGroups/plant-iot/providers/Microsoft.Devices/IotHubs/factory-7"
      events_endpoint      = "sb://iothub-ns-factory-7-123.servicebus.windows.net/"
      events_path          = "factory-7"
      sku                  = "S2"
      units                = 3
    }
    "lab" = { sku = "F1" }
  }
  virtual_nodes = [
    { cluster = "plant", name = "iot-edge-factory-7", hub = "factory-7" },
    { cluster = "lab", name = "iot-edge-lab", hub = "lab", namespaces = ["lab-team"] },
  ]
}

run "leaves_an_existing_hub_in_place_and_creates_only_the_new_one" {
  assert {
    condition     = keys(azurerm_iothub.new) == ["lab"]
    error_message = "only the hub without existing_resource_id may be created"
  }
  assert {
    condition     = data.azurerm_iothub.existing["factory-7"].resource_group_name == "plant-iot"
    error_message = "the existing hub must be looked up in the resource group of its id"
  }
}

run "routes_events_and_adds_a_consumer_group_on_the_existing_hub_in_its_own_resource_group" {
  assert {
    condition = (
      azurerm_iothub_route.events["factory-7/twin-change"].resource_group_name == "plant-iot" &&
      azurerm_iothub_route.events["factory-7/twin-change"].iothub_name == "factory-7" &&
      azurerm_iothub_route.events["factory-7/twin-change"].source == "TwinChangeEvents" &&
      azurerm_iothub_route.events["factory-7/connection-state"].source == "DeviceConnectionStateEvents" &&
      azurerm_iothub_consumer_group.connector["factory-7"].resource_group_name == "plant-iot" &&
      azurerm_iothub_consumer_group.connector["factory-7"].name == "iot-edge-connector"
    )
    error_message = "routes and the consumer group must be added to the existing hub where it lives"
  }
}

run "points_the_app_at_the_existing_hub_through_key_vault_with_its_stated_budget" {
  assert {
    condition = (
      azurerm_linux_function_app.connector[0].app_settings["HUB_FACTORY_7_CONNECTION"] ==
      "@Microsoft.KeyVault(SecretUri=${azurerm_key_vault_secret.hub_connection["factory-7"].versionless_id})" &&
      !contains(keys(azurerm_linux_function_app.connector[0].app_settings), "HUB_FACTORY_7_HOSTNAME") &&
      azurerm_linux_function_app.connector[0].app_settings["HUB_FACTORY_7_EVENTS_NAME"] == "factory-7" &&
      azurerm_linux_function_app.connector[0].app_settings["HUB_FACTORY_7_SKU"] == "S2" &&
      azurerm_linux_function_app.connector[0].app_settings["HUB_FACTORY_7_UNITS"] == "3" &&
      azurerm_linux_function_app.connector[0].app_settings["HUB_LAB_SKU"] == "F1" &&
      azurerm_linux_function_app.connector[0].app_settings["HUB_FACTORY_7_BASE_DEPLOYMENT"] == "false" &&
      azurerm_linux_function_app.connector[0].app_settings["HUB_LAB_BASE_DEPLOYMENT"] == "true" &&
      azurerm_linux_function_app.connector[0].app_settings["CONNECTOR_HUBS"] == "factory-7,lab"
    )
    error_message = "the app must reach the existing hub by a Key Vault reference and spend the budget stated for it"
  }
  assert {
    condition = startswith(azurerm_key_vault_secret.hub_connection["factory-7"].value,
    "HostName=existing-hub.azure-devices.net;SharedAccessKeyName=iot-edge-connector-service;SharedAccessKey=")
    error_message = "the hub secret must be a service connection string for the existing hub's host"
  }
  assert {
    condition = alltrue([for policy in azurerm_iothub_shared_access_policy.service : (
      policy.registry_read && policy.registry_write && policy.service_connect && policy.device_connect != true
    )])
    error_message = "the app's service policy needs registry read/write and service connect, never device connect"
  }
  assert {
    condition = startswith(azurerm_key_vault_secret.events_connection["factory-7"].value,
    "Endpoint=sb://iothub-ns-factory-7-123.servicebus.windows.net/;SharedAccessKeyName=iot-edge-connector-events;")
    error_message = "the existing hub's events secret must use its stated built-in endpoint"
  }
  assert {
    condition     = length(azurerm_role_assignment.app_operates_hub) == 0 && length(azurerm_role_definition.hub_operator) == 0
    error_message = "with keys the app's identity gets no hub role"
  }
}

run "keeps_the_storage_connection_string_in_key_vault" {
  assert {
    condition = (
      azurerm_linux_function_app.connector[0].app_settings["AzureWebJobsStorage"] ==
      "@Microsoft.KeyVault(SecretUri=${azurerm_key_vault_secret.storage_connection[0].versionless_id})" &&
      !contains(keys(azurerm_linux_function_app.connector[0].app_settings), "AzureWebJobsStorage__accountName")
    )
    error_message = "AzureWebJobsStorage must be a Key Vault reference"
  }
  assert {
    condition     = length(azurerm_role_assignment.app_storage) == 0
    error_message = "on Elastic Premium with keys the identity needs no storage role"
  }
  assert {
    condition = alltrue([for value in values(azurerm_linux_function_app.connector[0].app_settings) :
    !strcontains(value, "SharedAccessKey") && !strcontains(value, "AccountKey")])
    error_message = "no key may appear in an app setting"
  }
}

run "runs_node_22_on_elastic_premium_when_chosen" {
  assert {
    condition = (
      length(azurerm_function_app_flex_consumption.connector) == 0 &&
      azurerm_service_plan.connector.sku_name == "EP1" &&
      azurerm_linux_function_app.connector[0].site_config[0].application_stack[0].node_version == "22" &&
      azurerm_linux_function_app.connector[0].identity[0].type == "SystemAssigned" &&
      azurerm_linux_function_app.connector[0].storage_key_vault_secret_id == azurerm_key_vault_secret.storage_connection[0].versionless_id
    )
    error_message = "Elastic Premium must run Node 22 with a system-assigned identity, its storage from Key Vault"
  }
  assert {
    condition     = azurerm_role_assignment.app_reads_secrets.principal_id == azurerm_linux_function_app.connector[0].identity[0].principal_id
    error_message = "roles must go to the Elastic Premium app's identity"
  }
}

run "refuses_an_existing_hub_id_that_names_another_hub" {
  command = plan
  variables {
    hubs = {
      "factory-8" = {
        existing_resource_id = "/subscriptions/00000000-0000-0000-0000-00000000aaaa/resourceGroups/plant-iot/providers/Microsoft.Devices/IotHubs/factory-7"
        events_endpoint      = "sb://iothub-ns-factory-7-123.servicebus.windows.net/"
        events_path          = "factory-7"
      }
    }
    virtual_nodes = [{ cluster = "plant", name = "iot-edge-factory-8", hub = "factory-8" }]
  }
  expect_failures = [var.hubs]
}

run "refuses_an_existing_hub_without_its_built_in_endpoint" {
  command = plan
  variables {
    hubs = {
      "factory-7" = {
        existing_resource_id = "/subscriptions/00000000-0000-0000-0000-00000000aaaa/resourceGroups/plant-iot/providers/Microsoft.Devices/IotHubs/factory-7"
      }
    }
  }
  expect_failures = [var.hubs]
}

run "refuses_a_hub_sku_without_edge_deployments" {
  command = plan
  variables {
    hubs          = { "basic-hub" = { sku = "B1" } }
    virtual_nodes = [{ cluster = "plant", name = "iot-edge-basic-hub", hub = "basic-hub" }]
  }
  expect_failures = [var.hubs]
}

run "refuses_a_virtual_node_of_a_hub_it_does_not_serve_or_twice_in_one_cluster" {
  command = plan
  variables {
    virtual_nodes = [
      { cluster = "plant", name = "iot-edge-a", hub = "elsewhere" },
      { cluster = "plant", name = "iot-edge-b", hub = "lab" },
      { cluster = "plant", name = "iot-edge-b", hub = "lab" },
    ]
  }
  expect_failures = [var.virtual_nodes]
}
