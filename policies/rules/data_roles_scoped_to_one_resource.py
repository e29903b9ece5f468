"""data-roles-scoped-to-one-resource: a role that reaches data is granted on one resource.

A role with data actions (reading secrets, calling a model, reading blobs) reaches the data of
every resource under its scope: on a resource group or wider, every vault's secrets, every
account's models, every storage account's blobs there. The narrowest sensible scope is the
resource (a vault or its secret, an AI account, a storage account or container). Built-in roles
and the stack's own custom role definitions are read alike.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from policies.grants import WIDE_SCOPES, role_of, scope_of
from policies.identities import role_assignments
from policies.roles import has_data_actions
from policies.support import Outcome, StackResource, stack_policy


def check(resources: list[StackResource], config: Mapping[str, Any]) -> Outcome:
    """No role with data actions is assigned on a resource group, subscription or wider."""
    out = Outcome()
    for assignment in role_assignments(resources):
        role = role_of(assignment, resources)
        if role is None:
            out.cannot_check((assignment.name, "roleDefinitionId"))
            continue
        if role.permissions is None and role.custom:
            out.cannot_check((assignment.name, "roleDefinitionId"))
            continue
        if role.permissions is None or not has_data_actions(role.permissions):
            continue
        scope = scope_of(assignment, resources)
        if scope.kind is None:
            out.cannot_check((assignment.name, "scope"))
        elif scope.kind in WIDE_SCOPES:
            where = scope.text if scope.text is not None else "a resource group"
            out.fail(
                f"{role.label!r} reaches data and is granted on {scope.kind} {where!r}; grant it "
                "on the one resource (vault, secret, AI account, storage account) it needs",
                assignment.urn,
            )
    return out


POLICY = stack_policy(
    "data-roles-scoped-to-one-resource",
    "Roles with data actions (secrets, models, blobs, queues) are granted on one resource, never "
    "a resource group, subscription or management group.",
    rule=check,
    remediation=(
        "Set the role assignment's scope to the resource's ID (the secret, the vault, the AI "
        "account, the storage account or container)."
    ),
)
