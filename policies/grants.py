"""Reading role assignments: which role (and so which permissions), on what scope, to whom.

Pure functions over :class:`StackResource` views, shared by the privilege policies. A role is a
built-in one from :mod:`policies.roles` (by the GUID at the end of ``roleDefinitionId``) or a
custom ``authorization.RoleDefinition`` of the same stack, found by a property dependency of
``roleDefinitionId`` on it, or by its GUID (``roleDefinitionId`` input) or ``id`` output.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from policies.azure_ids import scope_kind
from policies.identities import principal_of
from policies.roles import (
    BUILT_IN_PERMISSIONS,
    Permissions,
    permissions_from_definition,
    role_id_of,
    role_name,
)
from policies.support import AI_ACCOUNT, VAULT, StackResource, canonical_type, is_unknown

ROLE_DEFINITION = "azure-native:authorization:RoleDefinition"
RESOURCE_GROUP = "azure-native:resources:ResourceGroup"

# Scope kinds wider than one resource.
WIDE_SCOPES = frozenset(
    {"resource group", "subscription", "management group", "root", "unrecognised scope"}
)


@dataclass(frozen=True)
class Role:
    """A role an assignment grants: its name for messages and its permissions (None: unknown)."""

    label: str
    permissions: tuple[Permissions, ...] | None
    custom: bool


@dataclass(frozen=True)
class Scope:
    """What an assignment's scope names: a kind, and the stack resources it is (or is under).

    ``kind`` is None when the scope is not known yet and nothing tells what it will be.
    """

    kind: str | None
    text: str | None
    resources: tuple[StackResource, ...] = ()

    def names_type(self, resource_type: str, provider_segment: str) -> bool:
        """True when the scope is a resource of that type (by its ID, or by dependency)."""
        if self.text is not None:
            return self.kind == "resource" and f"/providers/{provider_segment}/" in (
                self.text.lower() + "/"
            )
        return any(r.type == resource_type for r in self.resources)


def role_of(assignment: StackResource, resources: Sequence[StackResource]) -> Role | None:
    """The role an assignment grants; None when ``roleDefinitionId`` is not known yet."""
    definitions = [r for r in resources if r.type == ROLE_DEFINITION]
    for definition in definitions:
        if assignment.depends_on([definition.urn], "roleDefinitionId"):
            return _custom(definition)
    value = assignment.props.get("roleDefinitionId")
    if not isinstance(value, str) or is_unknown(value):
        return None
    guid = role_id_of(value)
    for definition in definitions:
        ids = (definition.props.get("roleDefinitionId"), definition.props.get("id"))
        if any(isinstance(i, str) and not is_unknown(i) and role_id_of(i) == guid for i in ids):
            return _custom(definition)
    return Role(role_name(value), BUILT_IN_PERMISSIONS.get(guid), custom=False)


def _custom(definition: StackResource) -> Role:
    name = definition.props.get("roleName")
    label = name if isinstance(name, str) and not is_unknown(name) else definition.name
    # Permissions that depend on no other resource hold only what the program wrote; what a
    # preview shows unknown in them is what the program left unset.
    literal = not definition.property_dependencies.get("permissions")
    permissions = permissions_from_definition(definition.props, unknown_is_unset=literal)
    return Role(f"custom role {label}", permissions, True)


def scope_of(assignment: StackResource, resources: Sequence[StackResource]) -> Scope:
    """The assignment's scope; an unknown one is read from what it depends on.

    In a preview a scope is usually the ID of a resource not created yet: unknown, with a
    property dependency on that resource. A dependency on resources other than resource groups
    means the scope is one of them (or under one); on resource groups only, a resource group.
    """
    value = assignment.props.get("scope")
    if isinstance(value, str) and not is_unknown(value):
        return Scope(scope_kind(value), value)
    deps = assignment.property_dependencies.get("scope", frozenset())
    named = tuple(r for r in resources if r.urn in deps)
    if any(r.type != RESOURCE_GROUP for r in named):
        return Scope("resource or below", None, tuple(r for r in named if r.type != RESOURCE_GROUP))
    if named:
        return Scope("resource group", None, named)
    return Scope(None, None)


def owned_by_stack(assignment: StackResource, resources: Sequence[StackResource]) -> bool | None:
    """Whether the principal is an identity of a stack resource (None: cannot tell yet).

    True for a ``principalId`` that depends on a stack resource or equals the principal of one
    (a web app, a user-assigned identity, any resource with a managed identity). The deployer's
    principal comes from an invoke (``getClientConfig``) or config: known, and owned by nothing.
    """
    if assignment.property_dependencies.get("principalId"):
        return True
    principal = assignment.props.get("principalId")
    if is_unknown(principal):
        return None
    return isinstance(principal, str) and any(principal == principal_of(r) for r in resources)


def is_vault_scope(scope: Scope) -> bool:
    return scope.kind == "vault" or (
        scope.kind == "resource or below" and all(r.type == VAULT for r in scope.resources)
    )


def is_ai_account_scope(scope: Scope) -> bool:
    return scope.names_type(AI_ACCOUNT, "microsoft.cognitiveservices/accounts")


def role_definitions(resources: Sequence[StackResource]) -> list[StackResource]:
    return [r for r in resources if canonical_type(r.type) == ROLE_DEFINITION]
