"""Least-privilege role assignments with deterministic names, so a re-run never duplicates one."""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
from pulumi_azure_native import authorization

from components.catalog.roles import role_definition_id
from components.naming import role_assignment_name


@dataclass
class RoleGrantArgs:
    """Who gets which built-in role on what."""

    principal_id: pulumi.Input[str]
    """Object ID of the identity receiving the role."""
    role_id: str
    """Role GUID: built-in ones from components/catalog/roles.py (the one role table)."""
    scope: pulumi.Input[str]
    """The narrowest ARM scope that works: a secret, a vault, an account. Never a group."""
    subscription_id: pulumi.Input[str]
    """Subscription that holds the role definition."""
    principal_type: pulumi.Input[str] = "ServicePrincipal"
    """ServicePrincipal for managed identities (stating it avoids replication-delay failures)."""
    description: str = ""
    """Why the grant exists, shown in the portal."""
    role_definition_id: pulumi.Input[str] | None = None
    """Full definition ID of a custom role; built-in roles are found from role_id."""


class RoleGrant(pulumi.ComponentResource):
    """One role assignment, named by uuid5(scope, role, principal)."""

    id: pulumi.Output[str]

    def __init__(
        self, name: str, args: RoleGrantArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("secure-azure-ai:index:RoleGrant", name, {}, opts)
        definition = pulumi.Output.from_input(
            args.role_definition_id
            or pulumi.Output.from_input(args.subscription_id).apply(
                lambda sub: role_definition_id(sub, args.role_id)
            )
        )
        assignment_name = pulumi.Output.all(args.scope, definition, args.principal_id).apply(
            lambda parts: role_assignment_name(*parts)
        )
        assignment = authorization.RoleAssignment(
            f"{name}-assignment",
            role_assignment_name=assignment_name,
            principal_id=args.principal_id,
            principal_type=args.principal_type,
            role_definition_id=definition,
            scope=args.scope,
            description=args.description or None,
            # Component options do not flow to children: pass ordering on explicitly.
            opts=pulumi.ResourceOptions(parent=self, depends_on=opts.depends_on if opts else None),
        )
        self.id = assignment.id
        self.register_outputs({"id": self.id})
