"""Hand-built plans for the policy tests: one compliant stack, and ways to break each part.

Resources carry wire-format inputs (camelCase), outputs as the engine would record them, and the
dependencies a real program produces. Keys are generated per run; nothing key-like is stored.
"""

from __future__ import annotations

import copy
import secrets
import time
from typing import Any

from policies.roles import KEY_VAULT_SECRETS_OFFICER, KEY_VAULT_SECRETS_USER, role_definition_id
from preflight.evaluate import evaluate
from preflight.model import SECRET_SIG_KEY, SECRET_SIG_VALUE, Plan, PlannedResource

SUB = "00000000-0000-4000-8000-00000000000a"
RG = f"/subscriptions/{SUB}/resourceGroups/rg-test"
VAULT_NAME = "kv-test"
VAULT_ID = f"{RG}/providers/Microsoft.KeyVault/vaults/{VAULT_NAME}"
SECRET_NAME = "ai-api-key"
SECRET_ID = f"{VAULT_ID}/secrets/{SECRET_NAME}"
ACCOUNT_ID = f"{RG}/providers/Microsoft.CognitiveServices/accounts/ai-test"
WORKSPACE_ID = f"{RG}/providers/Microsoft.OperationalInsights/workspaces/log-test"
SITE_NAME = "web-test"
APP_PRINCIPAL = "00000000-0000-4000-8000-0000000000b1"
DEPLOYER_PRINCIPAL = "00000000-0000-4000-8000-0000000000d1"
KV_REFERENCE = (
    f"@Microsoft.KeyVault(SecretUri=https://{VAULT_NAME}.vault.azure.net/secrets/{SECRET_NAME})"
)


def urn(type_token: str, name: str) -> str:
    return f"urn:pulumi:dev::secure-azure-ai::{type_token}::{name}"


def secret(value: Any) -> dict[str, Any]:
    """A value in Pulumi's secret wrapper, as a recorded input holds it."""
    return {SECRET_SIG_KEY: SECRET_SIG_VALUE, "value": value}


def synthetic_hex_key() -> str:
    """An Azure AI key shape (32 hex characters), new on every call."""
    return secrets.token_hex(16)


def role(role_id: str) -> str:
    return role_definition_id(SUB, role_id)


def resource(
    type_token: str,
    name: str,
    inputs: dict[str, Any],
    outputs: dict[str, Any] | None = None,
    *,
    dependencies: tuple[str, ...] = (),
    property_dependencies: dict[str, tuple[str, ...]] | None = None,
) -> PlannedResource:
    return PlannedResource(
        urn=urn(type_token, name),
        type=type_token,
        name=name,
        inputs=inputs,
        outputs=outputs if outputs is not None else copy.deepcopy(inputs),
        dependencies=dependencies,
        property_dependencies=property_dependencies or {},
    )


VAULT = "azure-native:keyvault:Vault"
SECRET = "azure-native:keyvault:Secret"
WEB_APP = "azure-native:web:WebApp"
SETTINGS = "azure-native:web:WebAppApplicationSettings"
FTP = "azure-native:web:WebAppFtpAllowed"
SCM = "azure-native:web:WebAppScmAllowed"
ACCOUNT = "azure-native:cognitiveservices:Account"
ASSIGNMENT = "azure-native:authorization:RoleAssignment"
DIAGNOSTICS = "azure-native:monitor:DiagnosticSetting"

VAULT_URN = urn(VAULT, "kv")
SECRET_URN = urn(SECRET, "ai-key")
SITE_URN = urn(WEB_APP, "site")
SETTINGS_URN = urn(SETTINGS, "settings")
FTP_URN = urn(FTP, "ftp")
SCM_URN = urn(SCM, "scm")
ACCOUNT_URN = urn(ACCOUNT, "account")
APP_GRANT_URN = urn(ASSIGNMENT, "app-secrets-user")
DEPLOYER_GRANT_URN = urn(ASSIGNMENT, "deployer-secrets-officer")


def vault_inputs() -> dict[str, Any]:
    return {
        "vaultName": VAULT_NAME,
        "resourceGroupName": "rg-test",
        "properties": {
            "tenantId": "00000000-0000-4000-8000-0000000000e1",
            "sku": {"family": "A", "name": "standard"},
            "enableRbacAuthorization": True,
            "accessPolicies": [],
            "enableSoftDelete": True,
            "softDeleteRetentionInDays": 90,
            "enablePurgeProtection": True,
            "enabledForDeployment": False,
            "enabledForDiskEncryption": False,
            "enabledForTemplateDeployment": False,
            "networkAcls": {"defaultAction": "Deny", "bypass": "AzureServices"},
        },
    }


def site_inputs() -> dict[str, Any]:
    return {
        "name": SITE_NAME,
        "resourceGroupName": "rg-test",
        "kind": "app,linux",
        "httpsOnly": True,
        "identity": {"type": "SystemAssigned"},
        "keyVaultReferenceIdentity": "SystemAssigned",
        "siteConfig": {
            "minTlsVersion": "1.2",
            "scmMinTlsVersion": "1.2",
            "ftpsState": "Disabled",
            "remoteDebuggingEnabled": False,
            "appSettings": [
                {"name": "AZURE_AI_ENDPOINT", "value": "https://ai-test.openai.azure.com/"}
            ],
        },
    }


def good_resources() -> list[PlannedResource]:
    """A stack every policy accepts: key mode, one app reading one secret."""
    site_outputs = site_inputs()
    site_outputs["identity"]["principalId"] = APP_PRINCIPAL
    site_outputs["id"] = f"{RG}/providers/Microsoft.Web/sites/{SITE_NAME}"
    return [
        resource(VAULT, "kv", vault_inputs(), {**vault_inputs(), "id": VAULT_ID}),
        resource(
            SECRET,
            "ai-key",
            {
                "vaultName": VAULT_NAME,
                "secretName": SECRET_NAME,
                "resourceGroupName": "rg-test",
                "properties": {
                    # What may live in a secret resource: nothing a key check calls a credential
                    # (a key in a keyvault.Secret lands in Pulumi state).
                    "value": secret("https://ai-test.openai.azure.com/"),
                    "contentType": "text/plain",
                    # Within the longest rotation period from now, whenever the tests run.
                    "attributes": {"expires": int(time.time()) + 90 * 86_400},
                },
            },
            dependencies=(VAULT_URN, ACCOUNT_URN),
            property_dependencies={"properties": (ACCOUNT_URN,)},
        ),
        resource(WEB_APP, "site", site_inputs(), site_outputs),
        resource(
            SETTINGS,
            "settings",
            {
                "name": SITE_NAME,
                "resourceGroupName": "rg-test",
                "properties": {"AZURE_AI_KEY": KV_REFERENCE},
            },
            dependencies=(SITE_URN, APP_GRANT_URN),
            property_dependencies={"name": (SITE_URN,)},
        ),
        resource(
            FTP,
            "ftp",
            {"name": SITE_NAME, "resourceGroupName": "rg-test", "allow": False},
            dependencies=(SITE_URN,),
            property_dependencies={"name": (SITE_URN,)},
        ),
        resource(
            SCM,
            "scm",
            {"name": SITE_NAME, "resourceGroupName": "rg-test", "allow": False},
            dependencies=(SITE_URN,),
            property_dependencies={"name": (SITE_URN,)},
        ),
        resource(
            ACCOUNT,
            "account",
            {
                "accountName": "ai-test",
                "kind": "OpenAI",
                "identity": {"type": "SystemAssigned"},
                "properties": {
                    "customSubDomainName": "ai-test",
                    "disableLocalAuth": False,
                    "restrictOutboundNetworkAccess": True,
                    "publicNetworkAccess": "Enabled",
                    "networkAcls": {
                        "defaultAction": "Deny",
                        "ipRules": [{"value": "203.0.113.0/24"}],
                    },
                },
            },
        ),
        resource(
            DIAGNOSTICS,
            "kv-audit",
            {
                "resourceUri": VAULT_ID,
                "workspaceId": WORKSPACE_ID,
                "logs": [{"category": "AuditEvent", "enabled": True}],
            },
            dependencies=(VAULT_URN,),
            property_dependencies={"resourceUri": (VAULT_URN,)},
        ),
        resource(
            DIAGNOSTICS,
            "account-logs",
            {
                "resourceUri": ACCOUNT_ID,
                "workspaceId": WORKSPACE_ID,
                "logs": [{"categoryGroup": "audit", "enabled": True}],
            },
            dependencies=(ACCOUNT_URN,),
            property_dependencies={"resourceUri": (ACCOUNT_URN,)},
        ),
        resource(
            ASSIGNMENT,
            "app-secrets-user",
            {
                "principalId": APP_PRINCIPAL,
                "principalType": "ServicePrincipal",
                "roleDefinitionId": role(KEY_VAULT_SECRETS_USER),
                "scope": SECRET_ID,
            },
            dependencies=(SITE_URN, SECRET_URN),
            property_dependencies={"principalId": (SITE_URN,), "scope": (SECRET_URN,)},
        ),
        resource(
            ASSIGNMENT,
            "deployer-secrets-officer",
            {
                "principalId": DEPLOYER_PRINCIPAL,
                "principalType": "ServicePrincipal",
                "roleDefinitionId": role(KEY_VAULT_SECRETS_OFFICER),
                "scope": VAULT_ID,
            },
            dependencies=(VAULT_URN,),
            property_dependencies={"scope": (VAULT_URN,)},
        ),
    ]


def plan_of(resources: list[PlannedResource]) -> Plan:
    return Plan(project="secure-azure-ai", stack="dev", resources=resources)


def replace(resources: list[PlannedResource], name: str, **changes: Any) -> list[PlannedResource]:
    """The same resources with the one named ``name`` changed (dataclass fields)."""
    import dataclasses

    return [dataclasses.replace(r, **changes) if r.name == name else r for r in resources]


def found(
    resources: list[PlannedResource], config: dict | None = None
) -> set[tuple[str, str | None]]:
    """(policy, urn) of every violation, advisory or mandatory."""
    return {(v.policy, v.urn) for v in evaluate(plan_of(resources), policy_config=config)}


def found_levels(
    resources: list[PlannedResource], config: dict | None = None
) -> set[tuple[str, str, str | None]]:
    return {
        (v.policy, v.enforcement, v.urn) for v in evaluate(plan_of(resources), policy_config=config)
    }


def changed(resources: list[PlannedResource], name: str, edit: Any) -> list[PlannedResource]:
    """The same resources, with ``edit`` applied to the named one's inputs and outputs."""
    import dataclasses

    result = []
    for r in resources:
        if r.name == name:
            inputs, outputs = copy.deepcopy(r.inputs), copy.deepcopy(r.outputs)
            edit(inputs)
            edit(outputs)
            r = dataclasses.replace(r, inputs=inputs, outputs=outputs)
        result.append(r)
    return result
