"""role-assignments-least-privilege: no principal gets a role that can do more than its job.

Every role assignment, to any principal (app identities, user-assigned identities, principals
from config or stack references, groups, the deployer), is judged by what its role can do
(:func:`policies.roles.capabilities` over the built-in permissions or the stack's own custom
role definition), never by its name. Refused: granting access (role assignments, vault access
policies), defining roles, changing every resource, listing or regenerating keys, and changing
the secrets of a whole vault (or more). The stack's own design needs two of these, and they pass:

- the deployer's secret writer: a role acting only on secrets, on one vault, to a principal that
  no stack resource owns (the deploying identity, from ``getClientConfig``);
- the rotator's key role: a custom role whose actions are only the rotator's key actions
  (:data:`policies.roles.KEY_ROTATOR_ACTIONS`), on one AI account.

Anything else is allowed only by the policy config's ``allowedAssignments``, with a reason.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from policies.grants import (
    Role,
    Scope,
    is_ai_account_scope,
    is_vault_scope,
    owned_by_stack,
    role_of,
    scope_of,
)
from policies.identities import role_assignments
from policies.roles import (
    CHANGE_EVERYTHING,
    CHANGE_SECRETS,
    DEFINE_ROLES,
    GRANT_ACCESS,
    KEY_ROTATOR_ACTIONS,
    USE_KEYS,
    capabilities,
)
from policies.support import Outcome, StackResource, stack_policy

ALLOWED_ASSIGNMENTS = "allowedAssignments"
ALWAYS_REFUSED = frozenset({GRANT_ACCESS, DEFINE_ROLES, CHANGE_EVERYTHING, USE_KEYS})
_SECRET_DATA = "microsoft.keyvault/vaults/secrets/"


def _allowed(config: Mapping[str, Any]) -> frozenset[str]:
    return frozenset(
        str(entry.get("assignment"))
        for entry in config.get(ALLOWED_ASSIGNMENTS) or ()
        if isinstance(entry, Mapping)
    )


def _only_secrets(role: Role) -> bool:
    blocks = role.permissions or ()
    data = [a.lower() for b in blocks for a in b.data_actions]
    return bool(data) and all(a.startswith(_SECRET_DATA) for a in data)


def _rotator_key_role(role: Role) -> bool:
    wanted = {a.lower() for a in KEY_ROTATOR_ACTIONS}
    blocks = role.permissions or ()
    actions = {a.lower() for b in blocks for a in b.actions}
    return (
        role.custom
        and bool(actions)
        and actions <= wanted
        and not any(b.data_actions for b in blocks)
    )


def _by_design(
    refused: frozenset[str], role: Role, scope: Scope, owned: bool | None
) -> bool | None:
    """Whether the stack's own design needs this grant (None: not known until apply)."""
    if refused == {CHANGE_SECRETS} and _only_secrets(role) and is_vault_scope(scope):
        return None if owned is None else not owned
    if refused == {USE_KEYS} and _rotator_key_role(role):
        return True if is_ai_account_scope(scope) else (None if scope.kind is None else False)
    return False


def check(resources: list[StackResource], config: Mapping[str, Any]) -> Outcome:
    """Each assignment's role, on its scope, can do nothing least privilege refuses."""
    out = Outcome()
    allowed = _allowed(config)
    for assignment in role_assignments(resources):
        if assignment.name in allowed or assignment.urn in allowed:
            continue
        role = role_of(assignment, resources)
        if role is None:
            out.cannot_check((assignment.name, "roleDefinitionId"))
            continue
        if role.permissions is None and role.custom:
            out.cannot_check((assignment.name, "roleDefinitionId"))
            continue
        if role.permissions is None:
            out.fail(
                f"roleDefinitionId names {role.label!r}, whose permissions the pack does not "
                "know: least privilege cannot be shown; use a role from the pack's table, define "
                f"the role in the stack, or allow-list the assignment in {ALLOWED_ASSIGNMENTS}",
                assignment.urn,
            )
            continue
        scope = scope_of(assignment, resources)
        owned = owned_by_stack(assignment, resources)
        found = capabilities(role.permissions)
        refused = found & ALWAYS_REFUSED
        # Changing one secret is a narrow grant; changing a whole vault's secrets is not. A
        # scope not known yet that depends on a vault may be either.
        vault_or_secret = scope.kind is None or (
            scope.kind == "resource or below" and is_vault_scope(scope)
        )
        if CHANGE_SECRETS in found and scope.kind != "secret":
            if vault_or_secret and not refused:
                as_vault = frozenset({CHANGE_SECRETS})
                if not _by_design(as_vault, role, Scope("vault", None), owned):
                    out.cannot_check((assignment.name, "scope"))
                continue
            refused |= {CHANGE_SECRETS}
        if not refused:
            continue
        design = _by_design(frozenset(refused), role, scope, owned)
        if design is None:
            out.cannot_check((assignment.name, "scope" if scope.kind is None else "principalId"))
        elif not design:
            where = scope.text if scope.text is not None else f"a {scope.kind or 'scope'}"
            out.fail(
                f"{role.label!r} on {where!r} can {', '.join(sorted(refused))}; grant a role "
                "with only the actions this principal uses, on the narrowest scope",
                assignment.urn,
            )
    return out


POLICY = stack_policy(
    "role-assignments-least-privilege",
    "No role assignment, to any principal, grants a role that can grant access, define roles, "
    "change every resource, list or regenerate keys, or change a whole vault's secrets, beyond "
    "what the stack's design needs.",
    rule=check,
    remediation=(
        "Use the narrowest role: 'Key Vault Secrets User' on the secret an app reads, 'Cognitive "
        "Services OpenAI User' on the account (keyless), a custom role with only the actions "
        "needed; or list the assignment in allowedAssignments with the reason it is needed."
    ),
    config={
        ALLOWED_ASSIGNMENTS: {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {
                    "assignment": {"type": "string", "minLength": 1},
                    "reason": {"type": "string", "minLength": 10},
                },
                "required": ["assignment", "reason"],
                "additionalProperties": False,
            },
            "description": "Role assignments (name or URN) allowed anyway, each with the reason.",
        }
    },
)
