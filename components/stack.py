"""The whole secured setup for one stack: AI account, vault, key, apps and their least access."""

from __future__ import annotations

from collections.abc import Callable

import pulumi
from pulumi_azure_native import authorization, operationalinsights, resources, web

from components import private_link
from components.access import RoleGrant, RoleGrantArgs
from components.ai_account import AiAccount, AiAccountArgs
from components.api_key_secret import AccountKeySecret
from components.catalog import ids, roles
from components.catalog.secret import MAX_TAG_VALUE_LENGTH
from components.catalog.sites import default_host, health_url
from components.config import PROJECT, StackConfig
from components.function_package import FunctionCodeDeployment
from components.key_vault import SecureKeyVault, SecureKeyVaultArgs
from components.network import PrivateNetwork, PrivateNetworkArgs
from components.private_endpoint import ServicePrivateEndpoint, ServicePrivateEndpointArgs
from components.rotation_automation import (
    PrivateStorageArgs,
    RotationAutomation,
    RotationAutomationArgs,
)
from components.rotator_access import Rotator, RotatorAccess, RotatorAccessArgs
from components.web_app import (
    IdentityGrant,
    SecureWebApp,
    SecureWebAppArgs,
)

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


def consumer_site_names(config: StackConfig) -> list[str] | None:
    """Site names for the secret's consumers tag, so rotation needs no hand-kept list.

    A Key Vault tag value holds 256 characters: a stack with more apps than fit names none there,
    and rotation reads its consumers from the stack outputs instead.
    """
    sites = [config.names.web_apps[app.name] for app in config.apps]
    return sites if len(",".join(sites)) <= MAX_TAG_VALUE_LENGTH else None


class SecureAiStack(pulumi.ComponentResource):
    """Everything `pulumi up` creates for one stack, with its exported outputs in ``outputs``."""

    def __init__(
        self,
        name: str,
        config: StackConfig,
        client: authorization.GetClientConfigResult,
        opts: pulumi.ResourceOptions | None = None,
        *,
        key_secret: Callable[..., AccountKeySecret] = AccountKeySecret,
        code_deployment: Callable[..., pulumi.CustomResource] = FunctionCodeDeployment,
    ) -> None:
        """``key_secret`` writes the key, ``code_deployment`` deploys the rotation code: Python
        dynamic resources here, the package provider's own resources when it serves the stack
        to another language (components/package.py)."""
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
        # Where every component goes, and the public-network fence the account and vault share.
        placed = {"resource_group_name": group_name, "location": config.location, "tags": tags}
        fenced = {
            "public_network_access": config.public_network_access,
            "allowed_ip_ranges": config.allowed_ip_ranges,
        }

        ai = AiAccount(
            f"{name}-ai",
            AiAccountArgs(
                **placed,
                **fenced,
                account_name=names.ai_account,
                custom_subdomain=names.ai_subdomain,
                local_auth_enabled=config.key_mode,
                kind=config.ai_kind,
                sku=config.ai_sku,
                deployments=config.deployments,
            ),
            opts=child,
        )
        # Private mode: the VNet, then an endpoint per service. What the apps' first start (and the
        # key's first write) resolves through must exist before: endpoints, zone groups, links.
        net = self._private_network(name, config, group_name, tags)
        private_dns: list[pulumi.Resource] = []
        if net is not None:
            private_dns += self._private_endpoint(
                f"{name}-ai",
                net,
                config,
                group_name,
                names.ai_account,
                ai.id,
                private_link.ACCOUNT_GROUP,
                private_link.ACCOUNT_ZONES[config.ai_kind],
                tags,
            )
        plan = web.AppServicePlan(
            f"{name}-plan",
            name=names.plan,
            **placed,
            kind="linux",
            reserved=True,
            sku={"name": config.app_service_sku},
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
        self.outputs: dict[str, pulumi.Input[object]] = {
            "authMode": config.auth_mode,
            "resourceGroupName": group_name,
            "aiAccountId": ai.id,
            "aiEndpoint": ai.endpoint,
            "chatDeployment": chat_deployment,
        }
        if net is not None:
            self.outputs["virtualNetworkId"] = net.virtual_network_id
        automation: RotationAutomation | None = None
        if config.key_mode:
            audit_workspace = self._audit_workspace(name, config, group_name, tags)
            vault = SecureKeyVault(
                f"{name}-kv",
                SecureKeyVaultArgs(
                    **placed,
                    **fenced,
                    vault_name=names.vault,
                    tenant_id=client.tenant_id,
                    audit_workspace_id=audit_workspace,
                ),
                opts=child,
            )
            vault_dns = (
                self._private_endpoint(
                    f"{name}-kv",
                    net,
                    config,
                    group_name,
                    names.vault,
                    vault.id,
                    private_link.VAULT_GROUP,
                    (private_link.VAULT_ZONE,),
                    tags,
                )
                if net is not None
                else []
            )
            private_dns += vault_dns
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
            if config.hosted_rotation:
                automation = RotationAutomation(
                    f"{name}-rotation",
                    RotationAutomationArgs(
                        **placed,
                        subscription_id=client.subscription_id,
                        app_name=names.automation_app,
                        storage_account_name=names.automation_storage,
                        vault_id=vault.id,
                        vault_name=names.vault,
                        vault_uri=vault.uri,
                        secret_name=config.secret_name,
                        account_id=ai.id,
                        ai_endpoint=ai.endpoint,
                        deployment=chat_deployment,
                        # The sites' IDs are fixed by their names: the settings need no site to
                        # exist yet (the refresh grants below wait for each site).
                        consumer_site_ids=[
                            ids.ResourceId(
                                client.subscription_id,
                                config.resource_group_name or names.resource_group,
                                names.web_apps[a.name],
                                "Microsoft.Web",
                                "sites",
                            ).id
                            for a in config.apps
                        ],
                        consumer_health_urls=[
                            health_url(default_host(names.web_apps[a.name])) for a in config.apps
                        ],
                        workspace_id=audit_workspace,
                        integration_subnet_id=net.functions_subnet_id if net else None,
                        private_storage=(
                            PrivateStorageArgs(
                                subnet_id=net.private_endpoint_subnet_id,
                                zone_ids={
                                    zone: net.zone_ids[zone]
                                    for zone in private_link.STORAGE_ZONES.values()
                                },
                                dns=net.dns,
                            )
                            if net
                            else None
                        ),
                    ),
                    opts=child,
                    code_deployment=code_deployment,
                )
            # Key Vault raises SecretNearExpiry only for versions created after a subscription
            # exists: the first version waits for the automation's subscription.
            secret = key_secret(
                f"{name}-api-key",
                account_id=ai.id,
                vault_uri=vault.uri,
                secret_name=config.secret_name,
                rotation_period_days=config.rotation_period_days,
                consumers=consumer_site_names(config),
                opts=pulumi.ResourceOptions(
                    parent=self,
                    depends_on=[
                        deployer,
                        *vault_dns,
                        *([automation.event_subscription] if automation else []),
                    ],
                ),
            )
            secret_scope = vault.id.apply(lambda vid: f"{vid}/secrets/{config.secret_name}")
            settings |= {
                "AZURE_AI_API_KEY": ids.key_vault_reference(
                    ids.vault_uri_for(names.vault), config.secret_name
                ),
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
        private_inbound = net is not None and config.network and config.network.private_inbound
        for app in config.apps:
            site = SecureWebApp(
                f"{name}-app-{app.name}",
                SecureWebAppArgs(
                    **placed,
                    site_name=names.web_apps[app.name],
                    plan_id=plan.id,
                    subscription_id=client.subscription_id,
                    app_settings=settings,
                    grants=grants,
                    settings_depend_on=[*settings_depend_on, *private_dns],
                    python_version=config.python_version,
                    integration_subnet_id=net.app_service_subnet_id if net else None,
                    private_inbound=bool(private_inbound),
                ),
                opts=child,
            )
            if net is not None and private_inbound:
                self._private_endpoint(
                    f"{name}-app-{app.name}",
                    net,
                    config,
                    group_name,
                    names.web_apps[app.name],
                    site.id,
                    private_link.SITES_GROUP,
                    (private_link.SITES_ZONE,),
                    tags,
                )
            sites[app.name] = site
            apps[app.name] = {
                "siteName": site.name,
                "siteId": site.id,
                "hostName": site.default_host_name,
                "principalId": site.principal_id,
            }
        self.outputs["apps"] = apps
        rotators = [
            *(
                [Rotator(config.rotator_principal_id, config.rotator_principal_type)]
                if config.key_mode and config.rotator_principal_id
                else []
            ),
            *(
                [Rotator(automation.principal_id, "ServicePrincipal", label="automation")]
                if automation
                else []
            ),
        ]
        if automation:
            self.outputs["rotationAutomation"] = {
                "functionAppName": automation.app_name,
                "functionAppId": automation.app_id,
                "principalId": automation.principal_id,
            }
        if rotators:
            # After the secret and the sites: Azure accepts an assignment only on a scope that
            # exists, and each site's own ID carries the dependency on that site.
            RotatorAccess(
                f"{name}-rotator",
                RotatorAccessArgs(
                    rotators=rotators,
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

    def _private_network(
        self, name: str, config: StackConfig, group_name: pulumi.Input[str], tags: dict[str, str]
    ) -> PrivateNetwork | None:
        """Private mode's VNet, subnets and DNS zones; None in public mode."""
        if config.network is None:
            return None
        network = PrivateNetwork(
            f"{name}-network",
            PrivateNetworkArgs(
                resource_group_name=group_name,
                location=config.location,
                network=config.network,
                virtual_network_name=config.names.virtual_network,
                zones=private_link.zones_for(
                    config.ai_kind,
                    config.key_mode,
                    config.network.private_inbound,
                    hosted_rotation=config.key_mode and config.hosted_rotation,
                ),
                functions_subnet=config.hosted_rotation,
                tags=tags,
            ),
            opts=pulumi.ResourceOptions(parent=self),
        )
        return network

    def _private_endpoint(
        self,
        name: str,
        net: PrivateNetwork,
        config: StackConfig,
        group_name: pulumi.Input[str],
        target_name: str,
        target_id: pulumi.Input[str],
        group_id: str,
        zones: tuple[str, ...],
        tags: dict[str, str],
    ) -> list[pulumi.Resource]:
        """A private endpoint for one service; returns what its clients' name resolution needs."""
        endpoint = ServicePrivateEndpoint(
            f"{name}-private",
            ServicePrivateEndpointArgs(
                resource_group_name=group_name,
                location=config.location,
                endpoint_name=f"{target_name}-pe",
                subnet_id=net.private_endpoint_subnet_id,
                target_id=target_id,
                group_id=group_id,
                zone_ids={zone: net.zone_ids[zone] for zone in zones},
                tags=tags,
            ),
            opts=pulumi.ResourceOptions(parent=self),
        )
        return [endpoint.zone_group, *net.dns]

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
