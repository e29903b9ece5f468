"""Key Vault in RBAC mode, with purge protection and audit logs: the only home of the AI key."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import pulumi
from pulumi_azure_native import keyvault, monitor

from components import firewall
from components.catalog import ids

SOFT_DELETE_RETENTION_DAYS = 90


@dataclass
class SecureKeyVaultArgs:
    """Arguments of SecureKeyVault. Defaults are the strict ones."""

    resource_group_name: pulumi.Input[str]
    """Resource group that holds the vault."""
    location: str
    """Azure region."""
    vault_name: str
    """Globally unique vault name (derived, stable)."""
    tenant_id: pulumi.Input[str]
    """Entra tenant, from the deploying identity's client config."""
    public_network_access: str = "Enabled"
    """Enabled by default: App Service Key Vault references without VNet integration need it.
    Disabled (private mode): only private endpoints reach it, and the firewall denies too."""
    allowed_ip_ranges: Sequence[pulumi.Input[str]] = ()
    """When given, the firewall denies everything else (trusted Azure services may bypass)."""
    audit_workspace_id: pulumi.Input[str] | None = None
    """Log Analytics workspace that receives AuditEvent logs and metrics; None for no audit."""
    tags: dict[str, str] = field(default_factory=dict)
    """Tags applied to the vault."""


class SecureKeyVault(pulumi.ComponentResource):
    """A vault that grants nothing by access policy and audits every secret read."""

    id: pulumi.Output[str]
    name: pulumi.Output[str]
    uri: pulumi.Output[str]

    def __init__(
        self, name: str, args: SecureKeyVaultArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("secure-azure-ai:index:SecureKeyVault", name, {}, opts)
        denies = firewall.denies_by_default(args.public_network_access, args.allowed_ip_ranges)
        network_acls = {
            "bypass": "AzureServices",
            "default_action": "Deny" if denies else "Allow",
            "ip_rules": firewall.ip_rules(args.allowed_ip_ranges),
        }
        vault = keyvault.Vault(
            f"{name}-vault",
            vault_name=args.vault_name,
            resource_group_name=args.resource_group_name,
            location=args.location,
            properties={
                "tenant_id": args.tenant_id,
                "sku": {"family": "A", "name": "standard"},
                "enable_rbac_authorization": True,
                "access_policies": [],
                "enable_soft_delete": True,
                "soft_delete_retention_in_days": SOFT_DELETE_RETENTION_DAYS,
                "enable_purge_protection": True,
                "enabled_for_deployment": False,
                "enabled_for_disk_encryption": False,
                "enabled_for_template_deployment": False,
                "public_network_access": args.public_network_access,
                "network_acls": network_acls,
            },
            tags=args.tags,
            opts=pulumi.ResourceOptions(parent=self),
        )
        if args.audit_workspace_id is not None:
            monitor.DiagnosticSetting(
                f"{name}-audit",
                name=f"{args.vault_name}-audit",
                resource_uri=vault.id,
                workspace_id=args.audit_workspace_id,
                logs=[{"category": "AuditEvent", "enabled": True}],
                metrics=[{"category": "AllMetrics", "enabled": True}],
                opts=pulumi.ResourceOptions(parent=self),
            )
        self.id = vault.id
        self.name = vault.name
        # Derived from the name, not read back, so previews already know every Key Vault reference;
        # with the trailing slash of the vault's own vaultUri property.
        self.uri = pulumi.Output.from_input(f"{ids.vault_uri_for(args.vault_name)}/")
        self.register_outputs({"id": self.id, "name": self.name, "uri": self.uri})
