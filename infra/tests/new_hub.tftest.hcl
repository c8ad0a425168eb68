# A new deployment from nothing with the defaults: two new hubs, Flex Consumption, the app reaching
# storage and hubs with its managed identity (connection_mode "identity", not set here). The azurerm
# provider is mocked: `apply` below creates nothing, it computes the configuration with made-up ids.
mock_provider "azurerm" {
  source = "./tests/mocks"
}

variables {
  name     = "edgeconn"
  location = "westeurope"
  hubs = {
    "plant-a" = { sku = "S1", units = 2 }
    "plant-b" = { sku = "S3", units = 1, consumer_group = "connector", base_deployment = false }
  }
  # two clusters, one with a node of the same name as the other's
  virtual_nodes = [
    { cluster = "east", name = "iot-edge-plant-a", hub = "plant-a" },
    { cluster = "east", name = "iot-edge-plant-b", hub = "plant-b", namespaces = ["line-1", "line-2"] },
    { cluster = "west", name = "iot-edge-plant-a", hub = "plant-a" },
  ]
}

run "routes_twin_change_and_connection_state_events_to_the_built_in_endpoint" {
  assert {
    condition = alltrue([for hub in ["plant-a", "plant-b"] : (
      azurerm_iothub_route.events["${hub}/twin-change"].source == "TwinChangeEvents" &&
      azurerm_iothub_route.events["${hub}/connection-state"].source == "DeviceConnectionStateEvents"
    )])
    error_message = "each hub needs a TwinChangeEvents and a DeviceConnectionStateEvents route"
  }
  assert {
    condition = alltrue([for route in azurerm_iothub_route.events : (
      route.endpoint_names == tolist(["events"]) && route.enabled && route.condition == "true"
    )])
    error_message = "every route must be enabled, unconditional and go to the built-in endpoint `events`"
  }
  assert {
    condition     = length(azurerm_iothub_route.events) == 4
    error_message = "two routes per hub, no more"
  }
}

run "keeps_device_telemetry_on_the_built_in_endpoint_through_the_fallback_route" {
  assert {
    condition = alltrue([for hub in ["plant-a", "plant-b"] : (
      azurerm_iothub.new[hub].fallback_route[0].enabled &&
      azurerm_iothub.new[hub].fallback_route[0].source == "DeviceMessages" &&
      azurerm_iothub.new[hub].fallback_route[0].endpoint_names == tolist(["events"]) &&
      azurerm_iothub.new[hub].fallback_route[0].condition == "true"
    )])
    error_message = "the fallback route must stay enabled towards `events`"
  }
}

run "creates_each_hub_with_its_sku_and_units_and_a_consumer_group_for_the_app" {
  assert {
    condition = (
      azurerm_iothub.new["plant-a"].sku[0].name == "S1" && azurerm_iothub.new["plant-a"].sku[0].capacity == 2 &&
      azurerm_iothub.new["plant-b"].sku[0].name == "S3" && azurerm_iothub.new["plant-b"].sku[0].capacity == 1
    )
    error_message = "hubs must be created with the SKU and units asked for"
  }
  assert {
    condition = (
      azurerm_iothub_consumer_group.connector["plant-a"].name == "iot-edge-connector" &&
      azurerm_iothub_consumer_group.connector["plant-b"].name == "connector" &&
      alltrue([for group in azurerm_iothub_consumer_group.connector : group.eventhub_endpoint_name == "events"])
    )
    error_message = "each hub needs the app's consumer group on the built-in endpoint"
  }
  assert {
    condition = alltrue([for policy in azurerm_iothub_shared_access_policy.events_reader : (
      policy.service_connect && policy.registry_read != true && policy.registry_write != true && policy.device_connect != true
    )])
    error_message = "the events policy may only connect as a service (read the built-in endpoint)"
  }
}

run "runs_node_22_on_flex_consumption_with_a_system_assigned_identity" {
  assert {
    condition     = length(azurerm_function_app_flex_consumption.connector) == 1 && length(azurerm_linux_function_app.connector) == 0
    error_message = "the default plan is Flex Consumption, and only one app is made"
  }
  assert {
    condition = (
      azurerm_service_plan.connector.sku_name == "FC1" &&
      azurerm_function_app_flex_consumption.connector[0].runtime_name == "node" &&
      azurerm_function_app_flex_consumption.connector[0].runtime_version == "22"
    )
    error_message = "the app must run Node 22 on an FC1 plan"
  }
  assert {
    condition = (
      azurerm_function_app_flex_consumption.connector[0].identity[0].type == "SystemAssigned" &&
      azurerm_function_app_flex_consumption.connector[0].storage_authentication_type == "SystemAssignedIdentity" &&
      !azurerm_storage_account.connector.shared_access_key_enabled
    )
    error_message = "the app must reach its storage with its system-assigned identity, and the account allow no shared keys"
  }
}

run "reaches_storage_and_hubs_by_managed_identity_by_default" {
  assert {
    condition = (
      var.connection_mode == "identity" &&
      length(azurerm_key_vault_secret.storage_connection) == 0 &&
      length(azurerm_key_vault_secret.hub_connection) == 0 &&
      length(azurerm_iothub_shared_access_policy.service) == 0
    )
    error_message = "without connection_mode the app must use its identity: no storage or hub service key is made or kept"
  }
}

run "sets_every_app_setting_with_identity_or_key_vault_references_only" {
  assert {
    condition = toset(keys(azurerm_function_app_flex_consumption.connector[0].app_settings)) == toset([
      "AzureWebJobsStorage__accountName", "CONNECTOR_HUBS", "CONFIGURATION_RELEASE_GRACE_SECONDS", "RECONCILE_SCHEDULE", "TASK_HUB_BACKLOG_LIMIT",
      "BASE_DEPLOYMENT_TARGET_CONDITION", "BASE_EDGE_AGENT_IMAGE", "BASE_EDGE_HUB_IMAGE", "BASE_REGISTRY_CREDENTIALS", "LOG_LEVEL", "FLEET_POLICY",
      "PURGE_SCHEDULE", "CONNECTOR_NODES", "AzureWebJobsSecretStorageType", "AzureWebJobsSecretStorageKeyVaultUri",
      "HUB_PLANT_A_HOSTNAME", "HUB_PLANT_A_EVENTS_CONNECTION", "HUB_PLANT_A_EVENTS_NAME", "HUB_PLANT_A_CONSUMER_GROUP",
      "HUB_PLANT_A_SKU", "HUB_PLANT_A_UNITS", "HUB_PLANT_A_BASE_DEPLOYMENT",
      "HUB_PLANT_B_HOSTNAME", "HUB_PLANT_B_EVENTS_CONNECTION", "HUB_PLANT_B_EVENTS_NAME", "HUB_PLANT_B_CONSUMER_GROUP",
      "HUB_PLANT_B_SKU", "HUB_PLANT_B_UNITS", "HUB_PLANT_B_BASE_DEPLOYMENT",
    ])
    error_message = "the app settings must be exactly the ones the app reads"
  }
  assert {
    condition = (
      azurerm_function_app_flex_consumption.connector[0].app_settings["CONNECTOR_HUBS"] == "plant-a,plant-b" &&
      azurerm_function_app_flex_consumption.connector[0].app_settings["HUB_PLANT_A_HOSTNAME"] == azurerm_iothub.new["plant-a"].hostname &&
      azurerm_function_app_flex_consumption.connector[0].app_settings["HUB_PLANT_A_EVENTS_NAME"] == azurerm_iothub.new["plant-a"].event_hub_events_path &&
      azurerm_function_app_flex_consumption.connector[0].app_settings["HUB_PLANT_A_UNITS"] == "2" &&
      azurerm_function_app_flex_consumption.connector[0].app_settings["HUB_PLANT_B_SKU"] == "S3" &&
      azurerm_function_app_flex_consumption.connector[0].app_settings["HUB_PLANT_B_CONSUMER_GROUP"] == "connector" &&
      azurerm_function_app_flex_consumption.connector[0].app_settings["HUB_PLANT_A_BASE_DEPLOYMENT"] == "true" &&
      azurerm_function_app_flex_consumption.connector[0].app_settings["HUB_PLANT_B_BASE_DEPLOYMENT"] == "false" &&
      azurerm_function_app_flex_consumption.connector[0].app_settings["AzureWebJobsStorage__accountName"] == azurerm_storage_account.connector.name
    )
    error_message = "app settings must carry the hubs' host names, endpoint names, SKUs, units, base deployment (a new hub's by default, unless turned off) and the storage account"
  }
  assert {
    condition = (
      azurerm_function_app_flex_consumption.connector[0].app_settings["HUB_PLANT_A_EVENTS_CONNECTION"] ==
      "@Microsoft.KeyVault(SecretUri=${azurerm_key_vault_secret.events_connection["plant-a"].versionless_id})" &&
      azurerm_function_app_flex_consumption.connector[0].app_settings["BASE_REGISTRY_CREDENTIALS"] ==
      "@Microsoft.KeyVault(SecretUri=${azurerm_key_vault_secret.base_registry_credentials.versionless_id})"
    )
    error_message = "secrets must reach the app as Key Vault references"
  }
  assert {
    condition = alltrue([for value in values(azurerm_function_app_flex_consumption.connector[0].app_settings) :
    !strcontains(value, "SharedAccessKey") && !strcontains(value, "AccountKey")])
    error_message = "no key may appear in an app setting"
  }
}

run "keeps_the_built_in_endpoint_key_in_key_vault" {
  assert {
    condition = azurerm_key_vault_secret.events_connection["plant-a"].value == join(";", [
      "Endpoint=${azurerm_iothub.new["plant-a"].event_hub_events_endpoint}",
      "SharedAccessKeyName=iot-edge-connector-events",
      "SharedAccessKey=${azurerm_iothub_shared_access_policy.events_reader["plant-a"].primary_key}",
      "EntityPath=${azurerm_iothub.new["plant-a"].event_hub_events_path}",
    ])
    error_message = "the events secret must be the built-in endpoint's connection string with the service-connect policy"
  }
  assert {
    condition     = azurerm_key_vault.connector.rbac_authorization_enabled
    error_message = "the vault must use Azure RBAC, so the app gets only Key Vault Secrets User"
  }
}

run "grants_the_identity_least_rights" {
  assert {
    condition = (
      toset([for role in azurerm_role_assignment.app_storage : role.role_definition_name]) ==
      toset(["Storage Blob Data Owner", "Storage Queue Data Contributor", "Storage Table Data Contributor"]) &&
      alltrue([for role in azurerm_role_assignment.app_storage : role.scope == azurerm_storage_account.connector.id])
    )
    error_message = "storage roles must be the three Durable Functions needs, on the app's account only"
  }
  assert {
    condition = (
      azurerm_role_assignment.app_reads_secrets.role_definition_name == "Key Vault Secrets User" &&
      azurerm_role_assignment.app_reads_secrets.scope == azurerm_key_vault.connector.id
    )
    error_message = "the app may only read secrets of its own vault"
  }
  assert {
    condition = alltrue([for hub in ["plant-a", "plant-b"] : (
      azurerm_role_assignment.app_operates_hub[hub].scope == azurerm_iothub.new[hub].id &&
      azurerm_role_assignment.app_operates_hub[hub].principal_id == azurerm_function_app_flex_consumption.connector[0].identity[0].principal_id
    )])
    error_message = "the app's identity must get the hub role on each hub, scoped to that hub"
  }
  assert {
    condition = (
      length(coalesce(azurerm_role_definition.hub_operator[0].permissions[0].actions, [])) == 0 &&
      !anytrue([for action in azurerm_role_definition.hub_operator[0].permissions[0].data_actions : strcontains(action, "*") || strcontains(action, "devices/")])
    )
    error_message = "the hub role grants data actions only, no wildcard and no device identity rights"
  }
}

run "outputs_what_publish_and_helm_install_need" {
  assert {
    condition     = output.function_app_name == azurerm_function_app_flex_consumption.connector[0].name
    error_message = "function_app_name must name the app to publish to"
  }
  assert {
    condition     = output.function_app_url == "https://${azurerm_function_app_flex_consumption.connector[0].default_hostname}"
    error_message = "function_app_url must be the app's https URL"
  }
  assert {
    # (compared as JSON: the output's lists and the literal's tuples are of different types)
    condition = jsonencode(output.adapter_chart_values) == jsonencode({
      east = { nodes = [
        {
          name              = "iot-edge-plant-a"
          hubName           = "plant-a"
          functionsUrl      = "${output.function_app_url}/api"
          functionKeySecret = { name = "iot-edge-plant-a-key", key = "functionKey" }
          namespaces        = ["default"]
        },
        {
          name              = "iot-edge-plant-b"
          hubName           = "plant-b"
          functionsUrl      = "${output.function_app_url}/api"
          functionKeySecret = { name = "iot-edge-plant-b-key", key = "functionKey" }
          namespaces        = ["line-1", "line-2"]
        },
      ] }
      west = { nodes = [{
        name              = "iot-edge-plant-a"
        hubName           = "plant-a"
        functionsUrl      = "${output.function_app_url}/api"
        functionKeySecret = { name = "iot-edge-plant-a-key", key = "functionKey" }
        namespaces        = ["default"]
      }] }
    })
    error_message = "the chart values must give each cluster its own nodes, each with the app's API URL, its own key Secret and its namespaces"
  }
}

run "gives_each_virtual_node_a_key_of_its_own_that_the_host_accepts_and_the_app_binds_to_node_hub_and_cluster" {
  assert {
    condition = (
      length(distinct(values(output.node_keys))) == 3 &&
      alltrue([for key in values(output.node_keys) : can(regex("^[0-9a-f]{64}$", key))])
    )
    error_message = "each node needs its own key: 64 hex digits (two uuid() draws, 244 random bits)"
  }
  assert {
    condition = alltrue([for id, secret in azurerm_key_vault_secret.node_key : (
      startswith(secret.name, "host--functionKey--node-") &&
      secret.key_vault_id == azurerm_key_vault.host_keys.id &&
      secret.value == output.node_keys[id]
    )])
    error_message = "each node's key must be a host function key in the host keys vault"
  }
  assert {
    condition = (
      azurerm_function_app_flex_consumption.connector[0].app_settings["AzureWebJobsSecretStorageType"] == "keyvault" &&
      azurerm_function_app_flex_consumption.connector[0].app_settings["AzureWebJobsSecretStorageKeyVaultUri"] == azurerm_key_vault.host_keys.vault_uri
    )
    error_message = "the host must keep its keys in the host keys vault"
  }
  assert {
    condition = jsondecode(azurerm_function_app_flex_consumption.connector[0].app_settings["CONNECTOR_NODES"]) == [
      for id in ["east/iot-edge-plant-a", "east/iot-edge-plant-b", "west/iot-edge-plant-a"] : {
        cluster   = split("/", id)[0]
        hub       = id == "east/iot-edge-plant-b" ? "plant-b" : "plant-a"
        node      = split("/", id)[1]
        keySha256 = sha256(output.node_keys[id])
      }
    ]
    error_message = "CONNECTOR_NODES must bind each key's SHA-256 to its cluster, hub and node"
  }
  assert {
    condition = alltrue([for value in values(azurerm_function_app_flex_consumption.connector[0].app_settings) :
    !anytrue([for key in values(output.node_keys) : strcontains(value, key)])])
    error_message = "no node key may appear in an app setting, only its hash"
  }
  assert {
    condition = (
      azurerm_role_assignment.app_keeps_host_keys.scope == azurerm_key_vault.host_keys.id &&
      azurerm_role_assignment.app_keeps_host_keys.role_definition_name == "Key Vault Secrets Officer" &&
      azurerm_role_assignment.app_reads_secrets.role_definition_name == "Key Vault Secrets User"
    )
    error_message = "the app may write secrets in the host keys vault only, and read those of its configuration vault"
  }
}

run "builds_the_adapter_image_in_its_own_registry_that_the_cluster_pulls_from" {
  variables {
    adapter_registry = {
      create                       = true
      cluster_kubelet_principal_id = "00000000-0000-0000-0000-00000000dddd"
      image_tag                    = "0.1.0"
    }
  }
  assert {
    condition = (
      azurerm_container_registry.adapter[0].admin_enabled == false &&
      azurerm_role_assignment.cluster_pulls_adapter[0].scope == azurerm_container_registry.adapter[0].id &&
      azurerm_role_assignment.cluster_pulls_adapter[0].role_definition_name == "AcrPull" &&
      azurerm_role_assignment.cluster_pulls_adapter[0].principal_id == "00000000-0000-0000-0000-00000000dddd"
    )
    error_message = "the registry must have no admin user and the cluster's kubelet identity AcrPull on it"
  }
  assert {
    condition = (
      output.container_registry_name == azurerm_container_registry.adapter[0].name &&
      alltrue([for cluster in ["east", "west"] : output.adapter_chart_values[cluster].image == {
        repository = "${azurerm_container_registry.adapter[0].login_server}/iot-edge-connector/adapter"
        tag        = "0.1.0"
      }])
    )
    error_message = "every cluster's chart values must name the image built in the registry"
  }
}

run "leaves_the_chart_default_image_without_a_registry" {
  assert {
    condition     = output.container_registry_name == null && !contains(keys(output.adapter_chart_values["east"]), "image")
    error_message = "without a registry the chart values must not override the image"
  }
}
