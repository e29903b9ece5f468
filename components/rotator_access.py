"""Least privilege for the identities that rotate the key: three custom roles, grants on exactly
the account, the secret and the consumer sites."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass

import pulumi
from pulumi_azure_native import authorization

from components.access import RoleGrant, RoleGrantArgs
from components.catalog import roles

_ROLE_NAMESPACE = uuid.UUID("0b6f4f0e-3f51-4f7a-bb0a-6d1c8a5e2f31")


@dataclass
class Rotator:
    """One identity that rotates the key."""

    principal_id: pulumi.Input[str]
    """Object ID of the rotating identity (a CI workload identity or the automation's identity)."""
    principal_type: str
    """ServicePrincipal (default) or User."""
    label: str = ""
    """Resource-name part for its grants; the configured rotator has none (stable names)."""


@dataclass
class RotatorAccessArgs:
    """Who rotates, and the resources rotation touches."""

    rotators: Sequence[Rotator]
    """The rotating identities; each gets the same grants."""
    subscription_id: pulumi.Input[str]
    """Subscription of the built-in role definitions."""
    resource_group_id: pulumi.Input[str]
    """Where the custom roles are defined and assignable."""
    account_id: pulumi.Input[str]
    """The AI account whose keys are listed and regenerated."""
    secret_id: pulumi.Input[str]
    """ARM ID of the key's secret: new versions are written there."""
    site_ids: Sequence[pulumi.Input[str]]
    """Consumer sites whose Key Vault references rotation refreshes (the sites' own ``id``
    outputs, so each grant waits for its site to exist)."""
    unique_name: str
    """Tenant-unique suffix for the custom role names (the account name)."""


class RotatorAccess(pulumi.ComponentResource):
    """listKeys + regenerateKey on the account, publish on the secret, refresh on the sites.

    Publishing is a custom role of four data actions on the one secret (read, write and tag its
    versions), not Key Vault Secrets Officer, which can also delete, purge, back up and restore.
    """

    def __init__(
        self, name: str, args: RotatorAccessArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("secure-azure-ai:index:RotatorAccess", name, {}, opts)
        key_rotator = self._custom_role(
            f"{name}-key-rotator-role",
            f"AI key rotator ({args.unique_name})",
            "List and regenerate the AI account's keys; nothing else.",
            roles.KEY_ROTATOR_ACTIONS,
            args,
        )
        refresher = self._custom_role(
            f"{name}-reference-refresher-role",
            f"Key Vault reference refresher ({args.unique_name})",
            "Read Key Vault reference status and refresh references; no setting values.",
            roles.REFERENCE_REFRESHER_ACTIONS,
            args,
        )
        publisher = self._custom_role(
            f"{name}-secret-publisher-role",
            f"AI key publisher ({args.unique_name})",
            "Read, write and tag versions of the AI key's secret; no delete, purge or restore.",
            (),
            args,
            data_actions=roles.SECRET_PUBLISHER_DATA_ACTIONS,
        )
        # (grant name suffix, role definition, scope, why) for every rotator alike.
        grants = [
            ("key-rotator", key_rotator.id, args.account_id, "Rotates the AI key."),
            ("secret-publisher", publisher.id, args.secret_id, "Publishes rotated key versions."),
            *(
                (
                    f"reference-refresher-{index}",
                    refresher.id,
                    site_id,
                    "Refreshes this app's Key Vault references after a rotation.",
                )
                for index, site_id in enumerate(args.site_ids)
            ),
        ]
        # Each scope must exist before Azure accepts an assignment on it: the secret and the sites
        # are created elsewhere, so the ordering given to this component reaches every grant
        # (component options do not flow to children on their own).
        after = pulumi.ResourceOptions(parent=self, depends_on=opts.depends_on if opts else None)
        for rotator in args.rotators:
            prefix = f"{name}-{rotator.label}" if rotator.label else name
            for suffix, definition_id, scope, description in grants:
                RoleGrant(
                    f"{prefix}-{suffix}",
                    RoleGrantArgs(
                        principal_id=rotator.principal_id,
                        role_id="",
                        role_definition_id=definition_id,
                        scope=scope,
                        subscription_id=args.subscription_id,
                        principal_type=rotator.principal_type,
                        description=description,
                    ),
                    opts=after,
                )
        self.register_outputs({})

    def _custom_role(
        self,
        name: str,
        role_name: str,
        description: str,
        actions: Sequence[str],
        args: RotatorAccessArgs,
        data_actions: Sequence[str] = (),
    ) -> authorization.RoleDefinition:
        permission: dict[str, list[str]] = {"actions": list(actions)}
        if data_actions:
            permission["dataActions"] = list(data_actions)
        return authorization.RoleDefinition(
            name,
            role_definition_id=str(uuid.uuid5(_ROLE_NAMESPACE, role_name)),
            role_name=role_name,
            description=description,
            role_type="CustomRole",
            permissions=[permission],
            assignable_scopes=[args.resource_group_id],
            scope=args.resource_group_id,
            opts=pulumi.ResourceOptions(parent=self),
        )
