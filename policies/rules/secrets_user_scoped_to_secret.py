"""secrets-user-scoped-to-secret: an identity reads its secret, not the whole vault (advisory).

A stack policy, so that an assignment of one of the stack's own custom roles (its
``roleDefinitionId`` unknown in a preview, but traced to the role definition) is known not to be
'Key Vault Secrets User' and is not reported as "cannot check yet".
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pulumi_policy import EnforcementLevel

from policies.grants import is_vault_scope, role_of, scope_of
from policies.identities import role_assignments
from policies.roles import KEY_VAULT_SECRETS_USER, role_id_of
from policies.support import Outcome, StackResource, stack_policy


def check(resources: list[StackResource], config: Mapping[str, Any]) -> Outcome:
    """A 'Key Vault Secrets User' assignment scoped to a whole vault is flagged."""
    out = Outcome()
    for assignment in role_assignments(resources):
        role = role_of(assignment, resources)
        if role is None:
            out.cannot_check((assignment.name, "roleDefinitionId"))
            continue
        value = assignment.props.get("roleDefinitionId")
        if role.custom or role_id_of(str(value)) != KEY_VAULT_SECRETS_USER:
            continue
        scope = scope_of(assignment, resources)
        if scope.kind == "vault":
            out.fail(
                f"scope is the whole vault ({scope.text!r}); scope it to the one secret the app "
                "reads",
                assignment.urn,
            )
        elif scope.kind is None or (scope.text is None and is_vault_scope(scope)):
            out.cannot_check((assignment.name, "scope"))
    return out


POLICY = stack_policy(
    "secrets-user-scoped-to-secret",
    "'Key Vault Secrets User' is granted on the secret rather than the whole vault.",
    rule=check,
    enforcement=EnforcementLevel.ADVISORY,
    remediation="Scope the assignment to <vault id>/secrets/<name>.",
)
