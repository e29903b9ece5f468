"""The Azure AI (Cognitive Services / Azure OpenAI) account and its model deployments."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import pulumi
from pulumi_azure_native import cognitiveservices

from components import firewall
from components.config import DeploymentConfig


@dataclass
class AiAccountArgs:
    """Arguments of AiAccount. Defaults are the strict ones; each loosening has its own name."""

    resource_group_name: pulumi.Input[str]
    """Resource group that holds the account."""
    location: str
    """Azure region."""
    account_name: str
    """Account resource name (derived, stable)."""
    custom_subdomain: str
    """Custom subdomain: always set, since Entra auth and network rules need one."""
    local_auth_enabled: bool = False
    """Key (local) auth. On only in key mode; keyless stacks disable keys entirely."""
    kind: str = "OpenAI"
    """OpenAI or AIServices."""
    sku: str = "S0"
    """Pricing tier."""
    public_network_access: str = "Enabled"
    """Enabled by default: App Service without VNet integration reaches the account publicly.
    Disabled (private mode): only private endpoints reach it, and the ACL denies by default too."""
    allowed_ip_ranges: Sequence[pulumi.Input[str]] = ()
    """When given, the network ACL denies everything else (defaultAction Deny)."""
    deployments: Sequence[DeploymentConfig] = ()
    """Model deployments, created one after another (the service rejects parallel ones)."""
    tags: dict[str, str] = field(default_factory=dict)
    """Tags applied to the account."""


class AiAccount(pulumi.ComponentResource):
    """Cognitive Services account with custom subdomain, managed identity and no outbound egress."""

    id: pulumi.Output[str]
    name: pulumi.Output[str]
    endpoint: pulumi.Output[str]
    principal_id: pulumi.Output[str]

    def __init__(
        self, name: str, args: AiAccountArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("secure-azure-ai:index:AiAccount", name, {}, opts)
        network_acls = (
            {"default_action": "Deny", "ip_rules": firewall.ip_rules(args.allowed_ip_ranges)}
            if firewall.denies_by_default(args.public_network_access, args.allowed_ip_ranges)
            else None
        )
        account = cognitiveservices.Account(
            f"{name}-account",
            account_name=args.account_name,
            resource_group_name=args.resource_group_name,
            location=args.location,
            kind=args.kind,
            sku={"name": args.sku},
            identity={"type": "SystemAssigned"},
            properties={
                "custom_sub_domain_name": args.custom_subdomain,
                "disable_local_auth": not args.local_auth_enabled,
                "public_network_access": args.public_network_access,
                "network_acls": network_acls,
                # No data exfiltration: the account may call out to no FQDN at all.
                "restrict_outbound_network_access": True,
                "allowed_fqdn_list": [],
            },
            tags=args.tags,
            opts=pulumi.ResourceOptions(parent=self),
        )
        previous: pulumi.Resource | None = None
        for deployment in args.deployments:
            previous = cognitiveservices.Deployment(
                f"{name}-deployment-{deployment.name}",
                deployment_name=deployment.name,
                account_name=account.name,
                resource_group_name=args.resource_group_name,
                sku={"name": deployment.sku, "capacity": deployment.capacity},
                properties={
                    "model": {
                        "format": "OpenAI",
                        "name": deployment.model,
                        "version": deployment.version,
                    },
                    "version_upgrade_option": "NoAutoUpgrade",
                },
                opts=pulumi.ResourceOptions(
                    parent=self, depends_on=[previous] if previous else None
                ),
            )
        self.id = account.id
        self.name = account.name
        self.endpoint = account.properties.apply(lambda p: p.endpoint)
        self.principal_id = account.identity.apply(lambda i: i.principal_id if i else "")
        self.register_outputs({"id": self.id, "name": self.name, "endpoint": self.endpoint})
