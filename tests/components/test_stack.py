"""The dev stack under Pulumi mocks: inventory, security properties, order, no key anywhere."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest

from components.stack import deployer_principal_type
from policies import roles
from preflight.harness import (
    PREVIEW_DEPLOYER,
    PREVIEW_SUBSCRIPTION,
    HarnessError,
    load_stack_config,
    run_program,
)
from preflight.model import UNKNOWN, Plan, PlannedResource, is_secret

ROOT = Path(__file__).resolve().parents[2]
DEV_CONFIG = load_stack_config(ROOT / "Pulumi.dev.yaml")
RG = f"/subscriptions/{PREVIEW_SUBSCRIPTION}/resourceGroups/sai-dev-rg"
VAULT_ID = f"{RG}/providers/Microsoft.KeyVault/vaults/sai-dev-kv-5bc604"
SECRET_ID = f"{VAULT_ID}/secrets/ai-api-key"
ACCOUNT_ID = f"{RG}/providers/Microsoft.CognitiveServices/accounts/sai-dev-ai-5bc604"
KEY_REFERENCE = (
    "@Microsoft.KeyVault(SecretUri=https://sai-dev-kv-5bc604.vault.azure.net/secrets/ai-api-key)"
)


def plan_with(**overrides: object) -> Plan:
    config = {**DEV_CONFIG, **{f"secure-azure-ai:{k}": v for k, v in overrides.items()}}
    return run_program(ROOT, config)


@pytest.fixture(scope="module")
def dev() -> Plan:
    return run_program(ROOT, DEV_CONFIG)


def only(plan: Plan, type_token: str) -> PlannedResource:
    found = plan.of_type(type_token)
    assert len(found) == 1, [r.name for r in found]
    return found[0]


def assignment_on(plan: Plan, scope: str, role_id: str | None = None) -> PlannedResource:
    (found,) = [
        r
        for r in plan.of_type("azure-native:authorization:RoleAssignment")
        if r.inputs["scope"] == scope
        and (role_id is None or r.inputs["roleDefinitionId"].endswith(role_id))
    ]
    return found


def web_sites(plan: Plan) -> list[PlannedResource]:
    """The apps' sites (the rotation's Function App is asserted in test_rotation_automation)."""
    return [r for r in plan.of_type("azure-native:web:WebApp") if r.inputs["kind"] == "app,linux"]


def web_site(plan: Plan) -> PlannedResource:
    (found,) = web_sites(plan)
    return found


def key_secret(plan: Plan) -> PlannedResource:
    """The key's dynamic resource (the Function App's code deployment is the other one)."""
    (found,) = [
        r for r in plan.of_type("pulumi-python:dynamic:Resource") if "secret_name" in r.inputs
    ]
    return found


def targets(plan: Plan, typ: str) -> list[PlannedResource]:
    """Resources a web-app security property applies to."""
    return web_sites(plan) if typ == "azure-native:web:WebApp" else plan.of_type(typ)


def get(inputs: dict, path: str) -> object:
    value: object = inputs
    for part in path.split("."):
        value = value.get(part) if isinstance(value, dict) else None
    return value


# (type token, property path, required value, the control it meets)
SECURITY_PROPERTIES = [
    (
        "azure-native:cognitiveservices:Account",
        "properties.customSubDomainName",
        "sai-dev-ai-5bc604",
        "Entra auth needs a subdomain",
    ),
    (
        "azure-native:cognitiveservices:Account",
        "properties.restrictOutboundNetworkAccess",
        True,
        "no data exfiltration",
    ),
    (
        "azure-native:cognitiveservices:Account",
        "properties.allowedFqdnList",
        [],
        "no data exfiltration",
    ),
    ("azure-native:cognitiveservices:Account", "identity.type", "SystemAssigned", "CKV_AZURE_238"),
    (
        "azure-native:cognitiveservices:Account",
        "properties.disableLocalAuth",
        False,
        "key mode only",
    ),
    ("azure-native:keyvault:Vault", "properties.enableRbacAuthorization", True, "12d4fa5e"),
    ("azure-native:keyvault:Vault", "properties.accessPolicies", [], "12d4fa5e"),
    ("azure-native:keyvault:Vault", "properties.enableSoftDelete", True, "1e66c121"),
    ("azure-native:keyvault:Vault", "properties.softDeleteRetentionInDays", 90, "1e66c121"),
    (
        "azure-native:keyvault:Vault",
        "properties.enablePurgeProtection",
        True,
        "0b60c0b2 / CKV_AZURE_110",
    ),
    ("azure-native:keyvault:Vault", "properties.enabledForDeployment", False, "least exposure"),
    (
        "azure-native:keyvault:Vault",
        "properties.enabledForTemplateDeployment",
        False,
        "least exposure",
    ),
    ("azure-native:keyvault:Vault", "properties.enabledForDiskEncryption", False, "least exposure"),
    ("azure-native:web:WebApp", "httpsOnly", True, "a4af4a39 / CKV_AZURE_14"),
    ("azure-native:web:WebApp", "identity.type", "SystemAssigned", "2b9ad585 / CKV_AZURE_71"),
    (
        "azure-native:web:WebApp",
        "keyVaultReferenceIdentity",
        "SystemAssigned",
        "references use the app identity",
    ),
    ("azure-native:web:WebApp", "siteConfig.minTlsVersion", "1.2", "f0e6e85b / CKV_AZURE_15"),
    ("azure-native:web:WebApp", "siteConfig.scmMinTlsVersion", "1.2", "f0e6e85b"),
    ("azure-native:web:WebApp", "siteConfig.ftpsState", "Disabled", "4d24b6d4 / CKV_AZURE_78"),
    (
        "azure-native:web:WebApp",
        "siteConfig.remoteDebuggingEnabled",
        False,
        "cb510bfd / CKV_AZURE_72",
    ),
    ("azure-native:web:WebAppFtpAllowed", "allow", False, "FTP basic auth off"),
    ("azure-native:web:WebAppScmAllowed", "allow", False, "SCM basic auth off"),
    (
        "azure-native:monitor:DiagnosticSetting",
        "logs",
        [{"category": "AuditEvent", "enabled": True}],
        "every secret read audited",
    ),
    (
        "azure-native:monitor:DiagnosticSetting",
        "metrics",
        [{"category": "AllMetrics", "enabled": True}],
        "vault metrics",
    ),
]


def weaknesses(plan: Plan) -> list[tuple[str, str]]:
    """The (type, path) pairs of SECURITY_PROPERTIES that the plan does not hold exactly."""
    return [
        (typ, path)
        for typ, path, required, _ in SECURITY_PROPERTIES
        if [get(r.inputs, path) for r in targets(plan, typ)] != [required] * len(targets(plan, typ))
        or not targets(plan, typ)
    ]


def test_dev_stack_inventory_is_exactly_the_secured_setup(dev):
    custom = sorted(r.type for r in dev.resources if r.custom)
    assert custom == sorted(
        [
            "azure-native:resources:ResourceGroup",
            "azure-native:cognitiveservices:Account",
            "azure-native:cognitiveservices:Deployment",
            "azure-native:web:AppServicePlan",
            "azure-native:operationalinsights:Workspace",
            "azure-native:keyvault:Vault",
            "azure-native:monitor:DiagnosticSetting",
            "azure-native:authorization:RoleAssignment",
            "pulumi-python:dynamic:Resource",
            "azure-native:authorization:RoleAssignment",
            "azure-native:web:WebApp",
            "azure-native:web:WebAppFtpAllowed",
            "azure-native:web:WebAppScmAllowed",
            "azure-native:web:WebAppApplicationSettings",
            # The rotation automation (tests/components/test_rotation_automation.py)...
            "azure-native:managedidentity:UserAssignedIdentity",
            "azure-native:storage:StorageAccount",
            "azure-native:storage:BlobContainer",
            "azure-native:storage:BlobContainer",
            "azure-native:storage:BlobContainer",
            "azure-native:storage:Queue",
            "azure-native:applicationinsights:Component",
            *["azure-native:authorization:RoleAssignment"] * 4,
            "azure-native:web:AppServicePlan",
            "azure-native:web:WebApp",
            "azure-native:web:WebAppFtpAllowed",
            "azure-native:web:WebAppScmAllowed",
            "pulumi-python:dynamic:Resource",
            "azure-native:eventgrid:SystemTopic",
            "azure-native:eventgrid:SystemTopicEventSubscription",
            # ... and its identity's rotator roles and grants (account, secret, the one site).
            *["azure-native:authorization:RoleDefinition"] * 3,
            *["azure-native:authorization:RoleAssignment"] * 3,
        ]
    )
    components = sorted(r.type for r in dev.resources if not r.custom)
    assert components == sorted(
        [
            "secure-azure-ai:index:SecureAiStack",
            "secure-azure-ai:index:AiAccount",
            "secure-azure-ai:index:SecureKeyVault",
            "secure-azure-ai:index:RoleGrant",
            "secure-azure-ai:index:RoleGrant",
            "secure-azure-ai:index:SecureWebApp",
            "secure-azure-ai:index:RotationAutomation",
            *["secure-azure-ai:index:RoleGrant"] * 4,
            "secure-azure-ai:index:RotatorAccess",
            *["secure-azure-ai:index:RoleGrant"] * 3,
        ]
    )


def test_every_security_property_holds_exactly(dev):
    assert weaknesses(dev) == []


@pytest.mark.parametrize(
    ("typ", "path", "required", "control"),
    SECURITY_PROPERTIES,
    ids=[p for _, p, _, _ in SECURITY_PROPERTIES],
)
def test_a_weakened_property_is_caught(dev, typ, path, required, control):
    weakened = copy.deepcopy(dev)
    target = targets(weakened, typ)[0]
    *parents, leaf = path.split(".")
    holder = target.inputs
    for part in parents:
        holder = holder.setdefault(part, {})
    holder[leaf] = "weakened" if not isinstance(required, bool) else not required
    assert weaknesses(weakened) == [(typ, path)]


def test_app_settings_hold_only_a_versionless_reference_and_identifiers(dev):
    settings = only(dev, "azure-native:web:WebAppApplicationSettings")
    assert settings.inputs["properties"] == {
        "AZURE_AI_API_KEY": KEY_REFERENCE,
        "AZURE_AI_AUTH_MODE": "keyVault",
        "AZURE_AI_DEPLOYMENT": "chat",
        "AZURE_AI_ENDPOINT": "https://sai-dev-ai-5bc604.openai.azure.com/",
        "AZURE_AI_KEY_SECRET_NAME": "ai-api-key",
        "KEY_VAULT_URI": "https://sai-dev-kv-5bc604.vault.azure.net/",
        "SCM_DO_BUILD_DURING_DEPLOYMENT": "true",
    }
    site = web_site(dev)
    assert "appSettings" not in site.inputs["siteConfig"]


def test_every_grant_is_exactly_the_one_its_holder_needs_on_the_narrowest_scope(dev):
    """The app reads only its secret, the deployer writes only the vault, and the automation
    holds its storage and telemetry data roles and the rotator's custom roles, nothing wider."""
    web_principal = web_site(dev).outputs["identity"]["principalId"]
    automation = only(dev, "azure-native:managedidentity:UserAssignedIdentity").outputs[
        "principalId"
    ]
    topic = only(dev, "azure-native:eventgrid:SystemTopic").outputs["identity"]["principalId"]
    custom = {
        r.inputs["roleName"]: r.inputs["roleDefinitionId"]
        for r in dev.of_type("azure-native:authorization:RoleDefinition")
    }
    storage = f"{RG}/providers/Microsoft.Storage/storageAccounts/saidevrot5bc604"
    insights = f"{RG}/providers/Microsoft.Insights/components/sai-dev-rot-5bc604-insights"
    grants = sorted(
        (
            r.inputs["principalId"],
            r.inputs["roleDefinitionId"].rsplit("/", 1)[1],
            r.inputs["scope"],
            r.inputs.get("principalType"),
        )
        for r in dev.of_type("azure-native:authorization:RoleAssignment")
    )
    assert grants == sorted(
        [
            (web_principal, roles.KEY_VAULT_SECRETS_USER, SECRET_ID, "ServicePrincipal"),
            (PREVIEW_DEPLOYER, roles.KEY_VAULT_SECRETS_OFFICER, VAULT_ID, "ServicePrincipal"),
            (automation, roles.STORAGE_BLOB_DATA_OWNER, storage, "ServicePrincipal"),
            (automation, roles.STORAGE_QUEUE_DATA_CONTRIBUTOR, storage, "ServicePrincipal"),
            (automation, roles.MONITORING_METRICS_PUBLISHER, insights, "ServicePrincipal"),
            (
                topic,
                roles.STORAGE_BLOB_DATA_CONTRIBUTOR,
                f"{storage}/blobServices/default/containers/rotation-dead-letters",
                "ServicePrincipal",
            ),
            (
                automation,
                custom["AI key rotator (sai-dev-ai-5bc604)"],
                ACCOUNT_ID,
                "ServicePrincipal",
            ),
            (
                automation,
                custom["AI key publisher (sai-dev-ai-5bc604)"],
                SECRET_ID,
                "ServicePrincipal",
            ),
            (
                automation,
                custom["Key Vault reference refresher (sai-dev-ai-5bc604)"],
                f"{RG}/providers/Microsoft.Web/sites/sai-dev-web-5bc604",
                "ServicePrincipal",
            ),
        ]
    )


def test_role_assignment_names_are_deterministic_guids(dev):
    again = run_program(ROOT, DEV_CONFIG)
    names = sorted(
        r.inputs["roleAssignmentName"]
        for r in dev.of_type("azure-native:authorization:RoleAssignment")
    )
    assert names == sorted(
        r.inputs["roleAssignmentName"]
        for r in again.of_type("azure-native:authorization:RoleAssignment")
    )
    assert all(len(n) == 36 and n.count("-") == 4 for n in names)
    assert len(set(names)) == len(names)


def test_settings_wait_for_the_role_assignment_and_the_secret(dev):
    by_urn = dev.by_urn()
    settings = only(dev, "azure-native:web:WebAppApplicationSettings")
    reader = assignment_on(dev, SECRET_ID, roles.KEY_VAULT_SECRETS_USER)
    secret = key_secret(dev)
    assert {reader.urn, secret.urn} <= set(settings.dependencies)
    assert secret.urn in reader.dependencies
    assert by_urn[secret.urn].custom


def test_key_secret_inputs_are_identifiers_only(dev):
    secret = key_secret(dev)
    inputs = {k: v for k, v in secret.inputs.items() if k != "__provider"}
    assert inputs["account_id"] == ACCOUNT_ID
    assert inputs["vault_uri"] == "https://sai-dev-kv-5bc604.vault.azure.net/"
    assert inputs["secret_name"] == "ai-api-key"
    assert inputs["rotation_period_days"] == 90
    assert assignment_on(dev, VAULT_ID).urn in secret.dependencies


def test_no_key_material_and_no_secret_anywhere_in_inputs_or_outputs(dev):
    def walk(value: object):
        yield value
        if isinstance(value, dict):
            for v in value.values():
                yield from walk(v)
        elif isinstance(value, list):
            for v in value:
                yield from walk(v)

    for resource in dev.resources:
        for value in [*walk(resource.inputs), *walk(resource.outputs)]:
            assert not is_secret(value), resource.urn
    # The rotator's custom role names the listKeys action; no resource carries what it returns.
    text = json.dumps(
        [r.inputs for r in dev.resources if r.type != "azure-native:authorization:RoleDefinition"]
        + [dev.outputs]
    )
    for forbidden in ('"key1":', '"key2":', "listKeys", "primaryKey", "AccountKey="):
        assert forbidden not in text


def test_outputs_are_identifiers_and_never_a_key(dev):
    assert dev.outputs == {
        "authMode": "keyVault",
        "resourceGroupName": "sai-dev-rg",
        "aiAccountId": ACCOUNT_ID,
        "aiEndpoint": "https://sai-dev-ai-5bc604.openai.azure.com/",
        "chatDeployment": "chat",
        "vaultUri": "https://sai-dev-kv-5bc604.vault.azure.net/",
        "secretName": "ai-api-key",
        # Written by the key's dynamic provider, which a preview does not run.
        "secretUri": UNKNOWN,
        "secretId": SECRET_ID,
        "apps": {
            "web": {
                "siteName": "sai-dev-web-5bc604",
                "siteId": f"{RG}/providers/Microsoft.Web/sites/sai-dev-web-5bc604",
                "hostName": "sai-dev-web-5bc604.azurewebsites.net",
                "principalId": web_site(dev).outputs["identity"]["principalId"],
            }
        },
        "rotationAutomation": {
            "functionAppName": "sai-dev-rot-5bc604",
            "functionAppId": f"{RG}/providers/Microsoft.Web/sites/sai-dev-rot-5bc604",
            "principalId": only(dev, "azure-native:managedidentity:UserAssignedIdentity").outputs[
                "principalId"
            ],
        },
    }


def test_keyless_mode_disables_keys_and_grants_openai_user_on_the_account():
    plan = plan_with(authMode="keyless")
    account = only(plan, "azure-native:cognitiveservices:Account")
    assert account.inputs["properties"]["disableLocalAuth"] is True
    assert plan.of_type("azure-native:keyvault:Vault") == []
    assert plan.of_type("pulumi-python:dynamic:Resource") == []
    settings = only(plan, "azure-native:web:WebAppApplicationSettings").inputs["properties"]
    assert settings == {
        "AZURE_AI_AUTH_MODE": "keyless",
        "AZURE_AI_DEPLOYMENT": "chat",
        "AZURE_AI_ENDPOINT": "https://sai-dev-ai-5bc604.openai.azure.com/",
        "SCM_DO_BUILD_DURING_DEPLOYMENT": "true",
    }
    grant = only(plan, "azure-native:authorization:RoleAssignment").inputs
    assert (grant["roleDefinitionId"].rsplit("/", 1)[1], grant["scope"]) == (
        roles.COGNITIVE_SERVICES_OPENAI_USER,
        ACCOUNT_ID,
    )


def test_many_apps_get_one_identity_and_one_secret_scoped_grant_each():
    plan = plan_with(apps=[{"name": "web"}, {"name": "api"}, {"name": "jobs"}])
    sites = web_sites(plan)
    assert sorted(s.inputs["name"] for s in sites) == [
        "sai-dev-api-5bc604",
        "sai-dev-jobs-5bc604",
        "sai-dev-web-5bc604",
    ]
    principals = {s.outputs["identity"]["principalId"] for s in sites}
    readers = [
        r.inputs
        for r in plan.of_type("azure-native:authorization:RoleAssignment")
        if r.inputs["roleDefinitionId"].endswith(roles.KEY_VAULT_SECRETS_USER)
    ]
    assert {r["principalId"] for r in readers} == principals
    assert {r["scope"] for r in readers} == {SECRET_ID}
    assert len(plan.of_type("azure-native:keyvault:Vault")) == 1
    assert len(plan.of_type("azure-native:cognitiveservices:Account")) == 1


def test_allowed_ip_ranges_close_both_firewalls():
    plan = plan_with(allowedIpRanges=["198.51.100.0/24"])
    vault_acl = only(plan, "azure-native:keyvault:Vault").inputs["properties"]["networkAcls"]
    account_acl = only(plan, "azure-native:cognitiveservices:Account").inputs["properties"][
        "networkAcls"
    ]
    assert vault_acl == {
        "bypass": "AzureServices",
        "defaultAction": "Deny",
        "ipRules": [{"value": "198.51.100.0/24"}],
    }
    assert account_acl == {"defaultAction": "Deny", "ipRules": [{"value": "198.51.100.0/24"}]}


def test_audit_logs_go_to_a_given_workspace_or_nowhere_when_turned_off():
    workspace = (
        f"/subscriptions/{PREVIEW_SUBSCRIPTION}/resourceGroups/ops/providers/"
        "Microsoft.OperationalInsights/workspaces/central-logs"
    )
    given = plan_with(logAnalyticsWorkspaceId=workspace)
    assert given.of_type("azure-native:operationalinsights:Workspace") == []
    assert only(given, "azure-native:monitor:DiagnosticSetting").inputs["workspaceId"] == workspace
    off = plan_with(auditLogs=False)
    assert off.of_type("azure-native:monitor:DiagnosticSetting") == []


def test_bad_config_stops_before_any_resource_with_one_line_per_problem():
    with pytest.raises(HarnessError) as caught:
        plan_with(rotationPeriodDays=0, authMode="keys")
    assert str(caught.value).splitlines() == [
        "invalid stack configuration:",
        "config secure-azure-ai:authMode: 'keys' is not one of keyVault, keyless "
        "(did you mean 'keyless'?)",
        "config secure-azure-ai:rotationPeriodDays: 0 is out of range; the rule is 1 to 365 days",
    ]


def test_startup_command_runs_the_sample_app_that_ships_in_this_repository(dev):
    command = web_site(dev).inputs["siteConfig"]["appCommandLine"]
    assert command == "gunicorn --config app/gunicorn.conf.py app.wsgi:application"
    assert (ROOT / "app" / "gunicorn.conf.py").is_file()
    wsgi = (ROOT / "app" / "wsgi.py").read_text(encoding="utf-8")
    assert "\napplication = " in wsgi or "\n    application = " in wsgi


ROTATOR = "5f0c3a1e-8d2b-4c6a-9e7f-1a2b3c4d5e6f"


def test_a_rotator_gets_exactly_list_and_regenerate_keys_publish_and_refresh():
    """The configured rotator and the automation's identity hold the same three custom roles,
    each on its one scope; publishing is four secret data actions, not Secrets Officer."""
    plan = plan_with(rotatorPrincipalId=ROTATOR, apps=[{"name": "web"}, {"name": "api"}])
    definitions = {
        r.inputs["roleName"]: r for r in plan.of_type("azure-native:authorization:RoleDefinition")
    }
    key_role = definitions["AI key rotator (sai-dev-ai-5bc604)"]
    refresh_role = definitions["Key Vault reference refresher (sai-dev-ai-5bc604)"]
    publish_role = definitions["AI key publisher (sai-dev-ai-5bc604)"]
    assert len(definitions) == 3
    assert key_role.inputs["permissions"] == [
        {
            "actions": [
                "Microsoft.CognitiveServices/accounts/listKeys/action",
                "Microsoft.CognitiveServices/accounts/regenerateKey/action",
            ]
        }
    ]
    assert refresh_role.inputs["permissions"] == [
        {
            "actions": [
                "Microsoft.Web/sites/config/Read",
                "Microsoft.Web/sites/config/Write",
                "Microsoft.Web/sites/instances/read",
            ]
        }
    ]
    assert publish_role.inputs["permissions"] == [
        {
            "actions": [],
            "dataActions": [
                "Microsoft.KeyVault/vaults/secrets/getSecret/action",
                "Microsoft.KeyVault/vaults/secrets/readMetadata/action",
                "Microsoft.KeyVault/vaults/secrets/setSecret/action",
                "Microsoft.KeyVault/vaults/secrets/update/action",
            ],
        }
    ]
    for definition in definitions.values():
        assert definition.inputs["assignableScopes"] == [RG]
    automation = only(plan, "azure-native:managedidentity:UserAssignedIdentity").outputs[
        "principalId"
    ]
    sites = f"{RG}/providers/Microsoft.Web/sites"
    expected = sorted(
        [
            (key_role.id, ACCOUNT_ID),
            (publish_role.id, SECRET_ID),
            (refresh_role.id, f"{sites}/sai-dev-web-5bc604"),
            (refresh_role.id, f"{sites}/sai-dev-api-5bc604"),
        ]
    )
    for principal in (ROTATOR, automation):
        grants = sorted(
            (r.inputs["roleDefinitionId"], r.inputs["scope"])
            for r in plan.of_type("azure-native:authorization:RoleAssignment")
            if r.inputs["principalId"] == principal
            and r.inputs["roleDefinitionId"] in {d.id for d in definitions.values()}
        )
        assert grants == expected, principal


def test_every_role_assignment_waits_for_the_resource_its_scope_names():
    # Azure accepts a role assignment only on a scope that exists: an assignment on the secret or
    # on a site must not race the resource that creates it.
    plan = plan_with(rotatorPrincipalId=ROTATOR, apps=[{"name": "web"}, {"name": "api"}])
    secret = key_secret(plan)
    sites = {r.inputs["name"]: r for r in plan.of_type("azure-native:web:WebApp")}
    assignments = plan.of_type("azure-native:authorization:RoleAssignment")
    on_secret = [a for a in assignments if a.inputs["scope"] == SECRET_ID]
    assert len(on_secret) == 4  # each app's reader, the rotator's and the automation's publisher
    for assignment in on_secret:
        assert secret.urn in assignment.dependencies, assignment.name
    on_sites = [a for a in assignments if "/providers/Microsoft.Web/sites/" in a.inputs["scope"]]
    assert len(on_sites) == 4  # each site refreshed by the rotator and by the automation
    for assignment in on_sites:
        site = sites[assignment.inputs["scope"].rsplit("/", 1)[-1]]
        assert site.urn in assignment.dependencies, assignment.name


def test_the_secret_names_its_consumer_sites_for_rotation():
    plan = plan_with(apps=[{"name": "web"}, {"name": "api"}])
    consumers = key_secret(plan).inputs["consumers"]
    assert consumers == ["sai-dev-web-5bc604", "sai-dev-api-5bc604"]
    crowded = plan_with(apps=[{"name": f"app{i:02d}"} for i in range(15)])
    assert "consumers" not in key_secret(crowded).inputs


@pytest.mark.parametrize(
    ("configured", "client_id", "expected"),
    [
        (None, "04b07795-8ddb-461a-bbee-02f9e1bf7b46", "User"),  # Azure CLI sign-in
        (None, "1950A258-227B-4E31-A9CF-717495945FC2", "User"),  # Azure PowerShell
        (None, "6a1f4c2e-0000-4000-8000-00000000abcd", "ServicePrincipal"),  # a workload
        ("Group", "04b07795-8ddb-461a-bbee-02f9e1bf7b46", "Group"),  # configured wins
    ],
)
def test_deployer_principal_type_is_always_stated(configured, client_id, expected):
    assert deployer_principal_type(configured, client_id) == expected


def test_deployer_principal_type_reaches_the_assignment():
    plan = plan_with(deployerPrincipalType="User")
    assert assignment_on(plan, VAULT_ID).inputs["principalType"] == "User"


def test_the_rotation_names_each_consumer_site_by_its_arm_id(dev):
    # Built from the sites' names, so the setting needs no site to exist yet.
    function_app = next(
        r
        for r in dev.of_type("azure-native:web:WebApp")
        if r.inputs["name"].startswith("sai-dev-rot")
    )
    settings = {s["name"]: s["value"] for s in function_app.inputs["siteConfig"]["appSettings"]}
    assert settings["ROTATION_CONSUMER_SITE_IDS"] == (
        f"{RG}/providers/Microsoft.Web/sites/sai-dev-web-5bc604"
    )
