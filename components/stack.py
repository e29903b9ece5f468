"""The whole secured setup for one stack: AI account, vault, key, apps and their least access."""

from __future__ import annotations

import pulumi
from pulumi_azure_native import authorization, operationalinsights, resources, web

from catalog import roles
from components.access import RoleGrant, RoleGrantArgs
from components.ai_account import AiAccount, AiAccountArgs
from components.api_key_secret import MAX_TAG_VALUE_LENGTH, AccountKeySecret
from components.config import PROJECT, StackConfig
from components.key_vault import SecureKeyVault, SecureKeyVaultArgs, secret_uri
from components.rotator_access import RotatorAccess, RotatorAccessArgs
from components.web_app import IdentityGrant, SecureWebApp, SecureWebAppArgs

AUDIT_RETENTION_DAYS = 90
# Sign-ins through these first-party apps are people; anything else is a workload identity.
_USER_SIGN_IN_CLIENTS = frozenset(
    {
        "04b07795-8ddb-461a-bbee-02f9e1bf7b46",  # Azure CLI
        "1950a258-227b-4e31-a9cf-717495945fc2",  # Azure PowerShell
    }
)


def deployer_principal_type(configured: str | None, client_id: str) -> str:
    """The deployer's principalType: configured, else User for CLI sign-ins, else ServicePrincipal.

    A wrong principalType makes ARM reject the assignment, and none at all invites replication
    delays, so it is always stated.
    """
    if configured:
        return configured
    return "User" if client_id.lower() in _USER_SIGN_IN_CLIENTS else "ServicePrincipal"


def key_vault_reference(vault_name: str, secret_name: str) -> str:
    """A versionless App Service Key Vault reference: it follows the latest secret version."""
    return f"@Microsoft.KeyVault(SecretUri={secret_uri(vault_name, secret_name)})"


def consumer_site_names(config: StackConfig) -> list[str] | None:
    """Site names for the secret's consumers tag, so rotation needs no hand-kept list.

    A Key Vault tag value holds 256 characters: a stack with more apps than fit names none there,
    and rotation reads its consumers from the stack outputs instead.
    """
    sites = [config.names.web_apps[app.name] for app in config.apps]
    return sites if len(",".join(sites)) <= MAX_TAG_VALUE_LENGTH else None


class SecureAiStack(pulumi.ComponentResource):
    """Everything `pulumi up` creates for one stack, with its exported outputs as attributes."""

    outputs: dict[str, pulumi.Input[object]]

    def __init__(
        self,
        name: str,
        config: StackConfig,
        client: authorization.GetClientConfigResult,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        super().__init__("secure-azure-ai:index:SecureAiStack", name, {}, opts)
        child = pulumi.ResourceOptions(parent=self)
        names = config.names
        tags = {"project": PROJECT, "stack": config.stack}

        if config.resource_group_name:
            group_name: pulumi.Input[str] = config.resource_group_name
            group_id: pulumi.Input[str] = (
                f"/subscriptions/{client.subscription_id}/resourceGroups/"
                f"{config.resource_group_name}"
            )
        else:
            group = resources.ResourceGroup(
                f"{name}-rg",
                resource_group_name=names.resource_group,
                location=config.location,
                tags=tags,
                opts=child,
            )
            group_name, group_id = group.name, group.id

        ai = AiAccount(
            f"{name}-ai",
            AiAccountArgs(
                resource_group_name=group_name,
                location=config.location,
                account_name=names.ai_account,
                custom_subdomain=names.ai_subdomain,
                local_auth_enabled=config.key_mode,
                kind=config.ai_kind,
                sku=config.ai_sku,
                public_network_access=config.public_network_access,
                allowed_ip_ranges=config.allowed_ip_ranges,
                deployments=config.deployments,
                tags=tags,
            ),
            opts=child,
        )
        plan = web.AppServicePlan(
            f"{name}-plan",
            name=names.plan,
            resource_group_name=group_name,
            location=config.location,
            kind="linux",
            reserved=True,
            sku={"name": config.app_service_sku},
            tags=tags,
            opts=child,
        )
        # The deployment the apps call and rotation probes new keys against (the config loader
        # requires at least one).
        chat_deployment = config.deployments[0].name
        settings: dict[str, pulumi.Input[str]] = {
            "AZURE_AI_ENDPOINT": ai.endpoint,
            "AZURE_AI_AUTH_MODE": config.auth_mode,
            "AZURE_AI_DEPLOYMENT": chat_deployment,
            "SCM_DO_BUILD_DURING_DEPLOYMENT": "true",
        }
        self.outputs = {
            "authMode": config.auth_mode,
            "resourceGroupName": group_name,
            "aiAccountId": ai.id,
            "aiEndpoint": ai.endpoint,
            "chatDeployment": chat_deployment,
        }
        if config.key_mode:
            vault = SecureKeyVault(
                f"{name}-kv",
                SecureKeyVaultArgs(
                    resource_group_name=group_name,
                    location=config.location,
                    vault_name=names.vault,
                    tenant_id=client.tenant_id,
                    public_network_access=config.public_network_access,
                    allowed_ip_ranges=config.allowed_ip_ranges,
                    audit_workspace_id=self._audit_workspace(name, config, group_name, tags),
                    tags=tags,
                ),
                opts=child,
            )
            # The deploying identity writes the key once; the apps can only read it.
            deployer = RoleGrant(
                f"{name}-deployer-secrets-officer",
                RoleGrantArgs(
                    principal_id=client.object_id,
                    role_id=roles.KEY_VAULT_SECRETS_OFFICER,
                    scope=vault.id,
                    subscription_id=client.subscription_id,
                    principal_type=deployer_principal_type(
                        config.deployer_principal_type, client.client_id
                    ),
                    description="Deploying identity writes the AI key into the vault once.",
                ),
                opts=child,
            )
            secret = AccountKeySecret(
                f"{name}-api-key",
                account_id=ai.id,
                vault_uri=vault.uri,
                secret_name=config.secret_name,
                rotation_period_days=config.rotation_period_days,
                consumers=consumer_site_names(config),
                opts=pulumi.ResourceOptions(parent=self, depends_on=[deployer]),
            )
            secret_scope = vault.id.apply(lambda vid: f"{vid}/secrets/{config.secret_name}")
            settings |= {
                "AZURE_AI_API_KEY": key_vault_reference(names.vault, config.secret_name),
                "KEY_VAULT_URI": vault.uri,
                "AZURE_AI_KEY_SECRET_NAME": config.secret_name,
            }
            grants = [
                IdentityGrant(
                    role_id=roles.KEY_VAULT_SECRETS_USER,
                    scope=secret_scope,
                    description="App reads the AI key secret, and only that secret.",
                )
            ]
            settings_depend_on: list[pulumi.Resource] = [secret]
            self.outputs |= {
                "vaultUri": vault.uri,
                "secretName": config.secret_name,
                "secretUri": secret.secret_uri,
                "secretId": secret_scope,
            }
        else:
            grants = [
                IdentityGrant(
                    role_id=roles.COGNITIVE_SERVICES_OPENAI_USER,
                    scope=ai.id,
                    description="App calls the AI account with its Entra token; no key exists.",
                )
            ]
            settings_depend_on = []

        apps = {}
        sites: dict[str, SecureWebApp] = {}
        for app in config.apps:
            site = SecureWebApp(
                f"{name}-app-{app.name}",
                SecureWebAppArgs(
                    resource_group_name=group_name,
                    location=config.location,
                    site_name=names.web_apps[app.name],
                    plan_id=plan.id,
                    subscription_id=client.subscription_id,
                    app_settings=settings,
                    grants=grants,
                    settings_depend_on=settings_depend_on,
                    python_version=config.python_version,
                    tags=tags,
                ),
                opts=child,
            )
            sites[app.name] = site
            apps[app.name] = {
                "siteName": site.name,
                "siteId": site.id,
                "hostName": site.default_host_name,
                "principalId": site.principal_id,
            }
        self.outputs["apps"] = apps
        if config.key_mode and config.rotator_principal_id:
            # After the secret and the sites: Azure accepts an assignment only on a scope that
            # exists, and each site's own ID carries the dependency on that site.
            RotatorAccess(
                f"{name}-rotator",
                RotatorAccessArgs(
                    principal_id=config.rotator_principal_id,
                    principal_type=config.rotator_principal_type,
                    subscription_id=client.subscription_id,
                    resource_group_id=group_id,
                    account_id=ai.id,
                    secret_id=secret_scope,
                    site_ids=[sites[app.name].id for app in config.apps],
                    unique_name=names.ai_account,
                ),
                opts=pulumi.ResourceOptions(parent=self, depends_on=[secret]),
            )
        self.register_outputs(self.outputs)

    def _audit_workspace(
        self, name: str, config: StackConfig, group_name: pulumi.Input[str], tags: dict[str, str]
    ) -> pulumi.Input[str] | None:
        """The workspace that receives the vault's audit logs: given, created, or none."""
        if not config.audit_logs:
            return None
        if config.log_analytics_workspace_id:
            return config.log_analytics_workspace_id
        return operationalinsights.Workspace(
            f"{name}-logs",
            workspace_name=config.names.workspace,
            resource_group_name=group_name,
            location=config.location,
            sku={"name": "PerGB2018"},
            retention_in_days=AUDIT_RETENTION_DAYS,
            tags=tags,
            opts=pulumi.ResourceOptions(parent=self),
        ).id
