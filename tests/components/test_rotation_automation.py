"""The rotation automation in the dev stack, under Pulumi mocks: every resource and security
property exactly, every grant and its scope, and the order Azure needs.

The program runs through the one mocks harness (preflight/harness.py), which records each
RegisterResource in wire format (camelCase, as the engine sends it to the provider) and answers
with Azure-shaped IDs and outputs. Order facts checked here and where Azure defines them:
- Key Vault raises SecretNearExpiry only for versions created after the subscription exists
  (learn.microsoft.com/azure/key-vault/general/event-grid-overview): the first version waits;
- Event Grid validates an AzureFunction destination when the subscription is created ("Destination
  endpoint not found" until the function is indexed): the subscription waits for the code;
- a Flex Consumption app reads its deployment container and host storage with its identity from
  the first start: the identity's storage grants exist before the app.
"""

from __future__ import annotations

import json

import pytest

from catalog import hosted
from components.config import ConfigError, load
from components.function_package import build_package, package_files, package_sha256
from policies import roles
from preflight.harness import PREVIEW_SUBSCRIPTION, run_program
from preflight.model import Plan, PlannedResource
from tests.components.test_stack import ACCOUNT_ID, DEV_CONFIG, RG, ROOT, SECRET_ID, VAULT_ID

APP = "sai-dev-rot-5bc604"
APP_ID = f"{RG}/providers/Microsoft.Web/sites/{APP}"
STORAGE = "saidevrot5bc604"
STORAGE_ID = f"{RG}/providers/Microsoft.Storage/storageAccounts/{STORAGE}"
IDENTITY_ID = f"{RG}/providers/Microsoft.ManagedIdentity/userAssignedIdentities/{APP}-identity"
INSIGHTS_ID = f"{RG}/providers/Microsoft.Insights/components/{APP}-insights"
WEB_SITE_ID = f"{RG}/providers/Microsoft.Web/sites/sai-dev-web-5bc604"
AUTOMATION_TYPES = {
    "azure-native:managedidentity:UserAssignedIdentity",
    "azure-native:storage:StorageAccount",
    "azure-native:storage:BlobContainer",
    "azure-native:storage:Queue",
    "azure-native:applicationinsights:Component",
    "azure-native:eventgrid:SystemTopic",
    "azure-native:eventgrid:SystemTopicEventSubscription",
}


@pytest.fixture(scope="module")
def dev() -> Plan:
    return run_program(ROOT, DEV_CONFIG)


def plan_with(**overrides: object) -> Plan:
    config = {**DEV_CONFIG, **{f"secure-azure-ai:{k}": v for k, v in overrides.items()}}
    return run_program(ROOT, config)


def only(plan: Plan, type_token: str, **inputs: object) -> PlannedResource:
    found = [
        r for r in plan.of_type(type_token) if all(r.inputs.get(k) == v for k, v in inputs.items())
    ]
    assert len(found) == 1, [r.name for r in found]
    return found[0]


def function_app(plan: Plan) -> PlannedResource:
    return only(plan, "azure-native:web:WebApp", kind="functionapp,linux")


def code(plan: Plan) -> PlannedResource:
    (found,) = [r for r in plan.of_type("pulumi-python:dynamic:Resource") if "scm_host" in r.inputs]
    return found


def identity(plan: Plan) -> PlannedResource:
    return only(plan, "azure-native:managedidentity:UserAssignedIdentity")


def settings_of(plan: Plan) -> dict[str, str]:
    return {s["name"]: s["value"] for s in function_app(plan).inputs["siteConfig"]["appSettings"]}


def waits_for(plan: Plan, later: PlannedResource, earlier: PlannedResource) -> bool:
    """True when `later` depends on `earlier`, directly or through others (what the engine
    orders creation by)."""
    by_urn = plan.by_urn()
    seen: set[str] = set()
    todo = list(later.dependencies)
    while todo:
        urn = todo.pop()
        if urn == earlier.urn:
            return True
        if urn not in seen and urn in by_urn:
            seen.add(urn)
            todo.extend(by_urn[urn].dependencies)
    return False


# --- storage -------------------------------------------------------------------------------


def test_host_storage_is_reached_by_identity_only(dev):
    account = only(dev, "azure-native:storage:StorageAccount")
    assert account.id == STORAGE_ID
    assert account.inputs == {
        "accountName": STORAGE,
        "resourceGroupName": "sai-dev-rg",
        "location": "swedencentral",
        "kind": "StorageV2",
        "sku": {"name": "Standard_LRS"},
        "allowSharedKeyAccess": False,
        "defaultToOAuthAuthentication": True,
        "allowBlobPublicAccess": False,
        "allowCrossTenantReplication": False,
        "minimumTlsVersion": "TLS1_2",
        "enableHttpsTrafficOnly": True,
        "tags": {"project": "secure-azure-ai", "stack": "dev"},
    }


def test_the_containers_and_the_queue_are_private_and_named_by_the_contract(dev):
    containers = sorted(
        (r.inputs["containerName"], r.inputs["publicAccess"], r.inputs["accountName"])
        for r in dev.of_type("azure-native:storage:BlobContainer")
    )
    assert containers == [
        (hosted.DEPLOYMENT_CONTAINER, "None", STORAGE),
        (hosted.DEAD_LETTER_CONTAINER, "None", STORAGE),
        (hosted.LEASE_CONTAINER, "None", STORAGE),
    ]
    queue = only(dev, "azure-native:storage:Queue")
    assert (queue.inputs["queueName"], queue.inputs["accountName"]) == (hosted.QUEUE_NAME, STORAGE)


# --- the Function App ------------------------------------------------------------------------


def test_the_plan_is_flex_consumption(dev):
    plan = only(dev, "azure-native:web:AppServicePlan", name=f"{APP}-plan")
    assert (plan.inputs["sku"], plan.inputs["kind"], plan.inputs["reserved"]) == (
        {"name": "FC1", "tier": "FlexConsumption"},
        "functionapp",
        True,
    )
    assert function_app(dev).inputs["serverFarmId"] == plan.id


def test_the_app_runs_python_3_11_from_its_container_read_by_its_own_identity(dev):
    site = function_app(dev)
    assert site.inputs["functionAppConfig"] == {
        "deployment": {
            "storage": {
                "type": "blobContainer",
                "value": f"https://{STORAGE}.blob.core.windows.net/{hosted.DEPLOYMENT_CONTAINER}",
                "authentication": {
                    "type": "UserAssignedIdentity",
                    "userAssignedIdentityResourceId": IDENTITY_ID,
                },
            }
        },
        "runtime": {"name": "python", "version": "3.11"},
        "scaleAndConcurrency": {"instanceMemoryMB": 2048, "maximumInstanceCount": 40},
    }
    assert site.inputs["identity"] == {
        "type": "UserAssigned",
        "userAssignedIdentities": [IDENTITY_ID],
    }
    assert site.inputs["keyVaultReferenceIdentity"] == IDENTITY_ID


def test_the_app_is_hardened_as_the_web_apps_and_carries_nothing_flex_rejects(dev):
    site = function_app(dev)
    assert site.inputs["httpsOnly"] is True
    config = site.inputs["siteConfig"]
    # A plain mapping (never SiteConfigArgs, which adds netFrameworkVersion and http20Enabled;
    # Flex rejects netFrameworkVersion, linuxFxVersion, alwaysOn, functionAppScaleLimit:
    # pulumi-azure-native#4168, Azure/azure-cli#31414).
    assert set(config) == {"minTlsVersion", "scmMinTlsVersion", "ftpsState", "appSettings"}
    assert (config["minTlsVersion"], config["scmMinTlsVersion"], config["ftpsState"]) == (
        "1.2",
        "1.2",
        "Disabled",
    )
    for token in ("azure-native:web:WebAppFtpAllowed", "azure-native:web:WebAppScmAllowed"):
        policy = only(dev, token, name=APP)
        assert policy.inputs["allow"] is False
    assert "virtualNetworkSubnetId" not in site.inputs  # public mode: no VNet integration


def test_the_app_settings_are_exactly_identifiers_and_the_identity_connection(dev):
    client_id = identity(dev).outputs["clientId"]
    insights = only(dev, "azure-native:applicationinsights:Component")
    assert settings_of(dev) == {
        "AzureWebJobsStorage__accountName": STORAGE,
        "AzureWebJobsStorage__credential": "managedidentity",
        "AzureWebJobsStorage__clientId": client_id,
        "AZURE_CLIENT_ID": client_id,
        "APPLICATIONINSIGHTS_CONNECTION_STRING": insights.outputs["connectionString"],
        "APPLICATIONINSIGHTS_AUTHENTICATION_STRING": f"Authorization=AAD;ClientId={client_id}",
        "ROTATION_VAULT_URI": "https://sai-dev-kv-5bc604.vault.azure.net/",
        "ROTATION_SECRET_NAME": "ai-api-key",
        "ROTATION_ACCOUNT_ID": ACCOUNT_ID,
        "ROTATION_AI_ENDPOINT": "https://sai-dev-ai-5bc604.openai.azure.com/",
        "ROTATION_DEPLOYMENT": "chat",
        "ROTATION_CONSUMER_SITE_IDS": WEB_SITE_ID,
        "ROTATION_CONSUMER_HEALTH_URLS": "https://sai-dev-web-5bc604.azurewebsites.net/healthz",
        "ROTATION_LEASE_CONTAINER": hosted.LEASE_CONTAINER,
        "ROTATION_QUEUE_NAME": hosted.QUEUE_NAME,
    }
    # Flex Consumption sets the runtime in functionAppConfig and rejects these as settings.
    assert not {"FUNCTIONS_WORKER_RUNTIME", "FUNCTIONS_EXTENSION_VERSION"} & set(settings_of(dev))
    assert not {"WEBSITE_RUN_FROM_PACKAGE", "AzureWebJobsStorage"} & set(settings_of(dev))


def test_every_binding_connection_has_its_identity_settings(dev, indexed_bindings):
    settings = settings_of(dev)
    client_id = identity(dev).outputs["clientId"]
    for prefix in indexed_bindings:
        assert (
            settings[f"{prefix}__accountName"],
            settings[f"{prefix}__credential"],
            settings[f"{prefix}__clientId"],
        ) == (STORAGE, "managedidentity", client_id)


@pytest.fixture(scope="module")
def indexed_bindings() -> set[str]:
    """Connection prefixes the Functions app's bindings name (as the worker indexes them)."""
    import importlib.util

    spec = importlib.util.spec_from_file_location(
        "function_app_for_settings", ROOT / "functions" / "function_app.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return {
        json.loads(raw)["connection"]
        for fn in module.app.get_functions()
        for raw in fn.get_raw_bindings()
        if "connection" in json.loads(raw)
    }


def test_application_insights_takes_entra_tokens_only(dev):
    insights = only(dev, "azure-native:applicationinsights:Component")
    workspace = only(dev, "azure-native:operationalinsights:Workspace")
    assert insights.id == INSIGHTS_ID
    assert {
        k: insights.inputs[k]
        for k in ("disableLocalAuth", "ingestionMode", "workspaceResourceId", "kind")
    } == {
        "disableLocalAuth": True,
        "ingestionMode": "LogAnalytics",
        "workspaceResourceId": workspace.id,
        "kind": "web",
    }


def test_the_code_is_deployed_by_digest_to_the_app_and_its_functions_awaited(dev):
    deployment = code(dev)
    assert {k: v for k, v in deployment.inputs.items() if k != "__provider"} == {
        "site_id": APP_ID,
        "scm_host": deployment.inputs["scm_host"],  # known after the site exists
        "package_sha256": package_sha256(build_package(package_files())),
        "functions": [hosted.EVENT_FUNCTION, hosted.QUEUE_FUNCTION, hosted.TIMER_FUNCTION],
    }
    assert waits_for(dev, deployment, function_app(dev))


# --- grants ----------------------------------------------------------------------------------


def test_the_automation_identity_holds_exactly_these_roles_on_these_scopes(dev):
    principal = identity(dev).outputs["principalId"]
    custom = {
        r.inputs["roleName"]: r.id for r in dev.of_type("azure-native:authorization:RoleDefinition")
    }
    held = sorted(
        (r.inputs["roleDefinitionId"].rsplit("/", 1)[1], r.inputs["scope"])
        for r in dev.of_type("azure-native:authorization:RoleAssignment")
        if r.inputs["principalId"] == principal
    )
    assert held == sorted(
        [
            (roles.STORAGE_BLOB_DATA_OWNER, STORAGE_ID),
            (roles.STORAGE_QUEUE_DATA_CONTRIBUTOR, STORAGE_ID),
            (roles.MONITORING_METRICS_PUBLISHER, INSIGHTS_ID),
            (custom["AI key rotator (sai-dev-ai-5bc604)"].rsplit("/", 1)[1], ACCOUNT_ID),
            (custom["AI key publisher (sai-dev-ai-5bc604)"].rsplit("/", 1)[1], SECRET_ID),
            (
                custom["Key Vault reference refresher (sai-dev-ai-5bc604)"].rsplit("/", 1)[1],
                WEB_SITE_ID,
            ),
        ]
    )
    assert not {rid for rid, _ in held} & roles.TOO_WIDE_FOR_AN_APP


def test_event_grid_dead_letters_with_its_own_identity_into_one_container(dev):
    topic = only(dev, "azure-native:eventgrid:SystemTopic")
    principal = topic.outputs["identity"]["principalId"]
    (grant,) = [
        r
        for r in dev.of_type("azure-native:authorization:RoleAssignment")
        if r.inputs["principalId"] == principal
    ]
    assert (grant.inputs["roleDefinitionId"].rsplit("/", 1)[1], grant.inputs["scope"]) == (
        roles.STORAGE_BLOB_DATA_CONTRIBUTOR,
        f"{STORAGE_ID}/blobServices/default/containers/{hosted.DEAD_LETTER_CONTAINER}",
    )


# --- Event Grid ------------------------------------------------------------------------------


def test_the_system_topic_is_the_vaults(dev):
    topic = only(dev, "azure-native:eventgrid:SystemTopic")
    assert {k: topic.inputs[k] for k in ("source", "topicType", "location", "identity")} == {
        "source": VAULT_ID,
        "topicType": "Microsoft.KeyVault.vaults",
        "location": "swedencentral",
        "identity": {"type": "SystemAssigned"},
    }


def test_the_subscription_delivers_near_expiry_of_the_one_secret_to_the_function(dev):
    subscription = only(dev, "azure-native:eventgrid:SystemTopicEventSubscription")
    topic = only(dev, "azure-native:eventgrid:SystemTopic")
    inputs = {k: v for k, v in subscription.inputs.items() if k != "resourceGroupName"}
    assert inputs == {
        "eventSubscriptionName": "secret-near-expiry",
        "systemTopicName": topic.inputs["systemTopicName"],
        "destination": {
            "endpointType": "AzureFunction",
            "resourceId": f"{APP_ID}/functions/{hosted.EVENT_FUNCTION}",
            "maxEventsPerBatch": 1,
            "preferredBatchSizeInKilobytes": 64,
        },
        "eventDeliverySchema": "EventGridSchema",
        "filter": {
            "includedEventTypes": ["Microsoft.KeyVault.SecretNearExpiry"],
            "subjectBeginsWith": "ai-api-key",
            "subjectEndsWith": "ai-api-key",
        },
        "retryPolicy": {"maxDeliveryAttempts": 30, "eventTimeToLiveInMinutes": 1440},
        "deadLetterWithResourceIdentity": {
            "identity": {"type": "SystemAssigned"},
            "deadLetterDestination": {
                "endpointType": "StorageBlob",
                "resourceId": STORAGE_ID,
                "blobContainerName": hosted.DEAD_LETTER_CONTAINER,
            },
        },
    }
    # No key in any config: the AzureFunction endpoint type takes none (a webhook URL would).
    assert "code=" not in json.dumps(inputs)


# --- order -----------------------------------------------------------------------------------


def test_the_secrets_first_version_waits_for_the_subscription(dev):
    secret = only(dev, "pulumi-python:dynamic:Resource", secret_name="ai-api-key")
    subscription = only(dev, "azure-native:eventgrid:SystemTopicEventSubscription")
    assert subscription.urn in secret.dependencies
    assert not waits_for(dev, subscription, secret)


def test_the_subscription_waits_for_the_code_and_the_dead_letter_grant(dev):
    subscription = only(dev, "azure-native:eventgrid:SystemTopicEventSubscription")
    topic_principal = only(dev, "azure-native:eventgrid:SystemTopic").outputs["identity"][
        "principalId"
    ]
    dead_letter = only(
        dev, "azure-native:authorization:RoleAssignment", principalId=topic_principal
    )
    assert waits_for(dev, subscription, code(dev))
    assert waits_for(dev, subscription, dead_letter)


def test_the_app_waits_for_its_identitys_storage_grants_containers_and_queue(dev):
    site = function_app(dev)
    principal = identity(dev).outputs["principalId"]
    host_grants = [
        r
        for r in dev.of_type("azure-native:authorization:RoleAssignment")
        if r.inputs["principalId"] == principal and r.inputs["scope"] in (STORAGE_ID, INSIGHTS_ID)
    ]
    assert len(host_grants) == 3
    for earlier in [
        identity(dev),
        *host_grants,
        *dev.of_type("azure-native:storage:BlobContainer"),
        only(dev, "azure-native:storage:Queue"),
    ]:
        assert waits_for(dev, site, earlier), earlier.name


def test_rotator_grants_wait_for_the_secret_they_are_scoped_to(dev):
    secret = only(dev, "pulumi-python:dynamic:Resource", secret_name="ai-api-key")
    principal = identity(dev).outputs["principalId"]
    on_secret = only(
        dev, "azure-native:authorization:RoleAssignment", principalId=principal, scope=SECRET_ID
    )
    assert waits_for(dev, on_secret, secret)


# --- switched off ----------------------------------------------------------------------------


def test_hosted_rotation_false_deploys_none_of_it():
    plan = plan_with(hostedRotation=False)
    assert {r.type for r in plan.resources} & AUTOMATION_TYPES == set()
    assert [r.inputs["kind"] for r in plan.of_type("azure-native:web:WebApp")] == ["app,linux"]
    assert "rotationAutomation" not in plan.outputs
    assert plan.of_type("azure-native:authorization:RoleDefinition") == []


def test_keyless_stacks_have_no_automation_and_refuse_to_be_given_one():
    plan = plan_with(authMode="keyless")
    assert {r.type for r in plan.resources} & AUTOMATION_TYPES == set()
    raw = {
        "azure-native:location": "swedencentral",
        "secure-azure-ai:authMode": "keyless",
        "secure-azure-ai:hostedRotation": "true",
        "secure-azure-ai:deployments": DEV_CONFIG["secure-azure-ai:deployments"],
    }
    with pytest.raises(ConfigError) as caught:
        load(raw, "dev", PREVIEW_SUBSCRIPTION)
    assert caught.value.problems == [
        "config secure-azure-ai:hostedRotation: 'true' is set in keyless mode; the rule is: "
        "keyless stacks hold no key, so no rotation automation"
    ]


def test_keyless_stacks_accept_hosted_rotation_turned_off():
    raw = {
        "azure-native:location": "swedencentral",
        "secure-azure-ai:authMode": "keyless",
        "secure-azure-ai:hostedRotation": "false",
        "secure-azure-ai:deployments": DEV_CONFIG["secure-azure-ai:deployments"],
    }
    assert load(raw, "dev", PREVIEW_SUBSCRIPTION).hosted_rotation is False


def test_hosted_rotation_takes_true_or_false_only():
    raw = {
        "azure-native:location": "swedencentral",
        "secure-azure-ai:hostedRotation": "sometimes",
        "secure-azure-ai:deployments": DEV_CONFIG["secure-azure-ai:deployments"],
    }
    with pytest.raises(ConfigError) as caught:
        load(raw, "dev", PREVIEW_SUBSCRIPTION)
    assert caught.value.problems == [
        "config secure-azure-ai:hostedRotation: 'sometimes' is not true or false"
    ]
