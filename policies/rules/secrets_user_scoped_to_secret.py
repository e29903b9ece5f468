"""secrets-user-scoped-to-secret: an identity reads its secret, not the whole vault (advisory)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pulumi_policy import EnforcementLevel

from policies.azure_ids import scope_kind
from policies.roles import KEY_VAULT_SECRETS_USER, role_id_of
from policies.support import NOT_KNOWN, ROLE_ASSIGNMENT, Outcome, Resource, resource_policy


def check(resource: Resource, config: Mapping[str, Any]) -> Outcome:
    """A 'Key Vault Secrets User' assignment scoped to a whole vault is flagged."""
    out = Outcome()
    role = out.read(resource.props, "roleDefinitionId")
    if role is NOT_KNOWN or not isinstance(role, str) or role_id_of(role) != KEY_VAULT_SECRETS_USER:
        return out
    scope = out.read(resource.props, "scope")
    if scope is not NOT_KNOWN and scope_kind(str(scope or "")) == "vault":
        out.fail(f"scope is the whole vault ({scope!r}); scope it to the one secret the app reads")
    return out


POLICY = resource_policy(
    "secrets-user-scoped-to-secret",
    "'Key Vault Secrets User' is granted on the secret rather than the whole vault.",
    types=[ROLE_ASSIGNMENT],
    rule=check,
    enforcement=EnforcementLevel.ADVISORY,
    remediation="Scope the assignment to <vault id>/secrets/<name>.",
)
