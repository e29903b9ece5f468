"""A Linux App Service app whose managed identity is its only credential."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import pulumi
from pulumi_azure_native import web

from components.access import RoleGrant, RoleGrantArgs
from components.catalog import sites
from components.catalog.roles import ROLE_NAMES

MIN_TLS_VERSION = "1.2"
HEALTH_CHECK_PATH = sites.HEALTH_PATH
# gunicorn as App Service runs Python; the app package ships its own gunicorn settings.
STARTUP_COMMAND = "gunicorn --config app/gunicorn.conf.py app.wsgi:application"


@dataclass
class IdentityGrant:
    """A role this app's identity needs, on the narrowest scope that works."""

    role_id: str
    """Built-in role GUID from components/catalog/roles.py."""
    scope: pulumi.Input[str]
    """ARM scope: the secret (key mode) or the AI account (keyless mode)."""
    description: str
    """Why the app needs it."""


@dataclass
class SecureWebAppArgs:
    """Arguments of SecureWebApp. Defaults are the strict ones."""

    resource_group_name: pulumi.Input[str]
    """Resource group that holds the app."""
    location: str
    """Azure region."""
    site_name: str
    """Globally unique app name (derived, stable)."""
    plan_id: pulumi.Input[str]
    """Linux App Service plan."""
    subscription_id: pulumi.Input[str]
    """Subscription of the role definitions."""
    app_settings: Mapping[str, pulumi.Input[str]]
    """Settings the app reads; the key only ever as a Key Vault reference."""
    grants: Sequence[IdentityGrant] = ()
    """Roles for the app's identity; the settings wait for them so references resolve at start."""
    settings_depend_on: Sequence[pulumi.Resource] = ()
    """Further resources the settings wait for (the secret they reference)."""
    python_version: str = "3.12"
    """Python runtime of the Linux app."""
    integration_subnet_id: pulumi.Input[str] | None = None
    """Private mode: the subnet (delegated to Microsoft.Web/serverFarms) that all of the app's
    outbound traffic leaves through, so Key Vault references and AI calls reach private
    endpoints. None: the app calls out over the internet."""
    private_inbound: bool = False
    """The app takes requests only through its private endpoint (publicNetworkAccess Disabled);
    the endpoint is the caller's (ServicePrivateEndpoint on the site's ``sites``)."""
    tags: dict[str, str] = field(default_factory=dict)
    """Tags applied to the app."""


class SecureWebApp(pulumi.ComponentResource):
    """HTTPS-only app on TLS 1.2+, no FTP, no basic-auth publishing, no remote debugging."""

    id: pulumi.Output[str]
    name: pulumi.Output[str]
    default_host_name: pulumi.Output[str]
    principal_id: pulumi.Output[str]

    def __init__(
        self, name: str, args: SecureWebAppArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("secure-azure-ai:index:SecureWebApp", name, {}, opts)
        child = pulumi.ResourceOptions(parent=self)
        network: dict[str, object] = {}
        if args.integration_subnet_id is not None:
            # Regional VNet integration with every outbound request routed into the VNet
            # (web 2025-05-01: outboundVnetRouting.applicationTraffic, "previously called
            # VnetRouteAllEnabled"; a site property, so Azure Policy can deny it, not only audit).
            network["virtual_network_subnet_id"] = args.integration_subnet_id
            network["outbound_vnet_routing"] = {"application_traffic": True}
        if args.private_inbound:
            network["public_network_access"] = "Disabled"
        site = web.WebApp(
            f"{name}-site",
            name=args.site_name,
            resource_group_name=args.resource_group_name,
            location=args.location,
            kind="app,linux",
            server_farm_id=args.plan_id,
            https_only=True,
            identity={"type": "SystemAssigned"},
            key_vault_reference_identity="SystemAssigned",
            site_config={
                "linux_fx_version": f"PYTHON|{args.python_version}",
                "app_command_line": STARTUP_COMMAND,
                "health_check_path": HEALTH_CHECK_PATH,
                "min_tls_version": MIN_TLS_VERSION,
                "scm_min_tls_version": MIN_TLS_VERSION,
                "ftps_state": "Disabled",
                "remote_debugging_enabled": False,
                "http20_enabled": True,
                "always_on": True,
            },
            **network,
            tags=args.tags,
            opts=child,
        )

        disable_basic_auth_publishing(name, site.name, args.resource_group_name, child)
        principal_id = site.identity.apply(lambda i: i.principal_id if i else "")
        grants = [
            RoleGrant(
                f"{name}-{role_slug(grant.role_id)}",
                RoleGrantArgs(
                    principal_id=principal_id,
                    role_id=grant.role_id,
                    scope=grant.scope,
                    subscription_id=args.subscription_id,
                    description=grant.description,
                ),
                opts=pulumi.ResourceOptions(parent=self, depends_on=list(args.settings_depend_on)),
            )
            for grant in args.grants
        ]
        # A separate settings resource, created after the grants and the secret: the references
        # resolve on the app's first start instead of failing and waiting out the 24-hour cache.
        web.WebAppApplicationSettings(
            f"{name}-settings",
            name=site.name,
            resource_group_name=args.resource_group_name,
            properties=dict(args.app_settings),
            opts=pulumi.ResourceOptions(
                parent=self, depends_on=[*grants, *args.settings_depend_on]
            ),
        )
        self.id = site.id
        self.name = site.name
        self.default_host_name = site.default_host_name
        self.principal_id = principal_id
        self.register_outputs(
            {
                "id": self.id,
                "name": self.name,
                "default_host_name": self.default_host_name,
                "principal_id": self.principal_id,
            }
        )


def disable_basic_auth_publishing(
    name: str,
    site_name: pulumi.Input[str],
    resource_group_name: pulumi.Input[str],
    opts: pulumi.ResourceOptions,
) -> None:
    """Basic-auth publishing (FTP and SCM) off: deployments use Entra tokens instead."""
    web.WebAppFtpAllowed(
        f"{name}-ftp-basic-auth",
        name=site_name,
        resource_group_name=resource_group_name,
        allow=False,
        opts=opts,
    )
    web.WebAppScmAllowed(
        f"{name}-scm-basic-auth",
        name=site_name,
        resource_group_name=resource_group_name,
        allow=False,
        opts=opts,
    )


def role_slug(role_id: str) -> str:
    """A short, readable resource-name part for a role."""
    return ROLE_NAMES.get(role_id, role_id).lower().replace(" ", "-")
