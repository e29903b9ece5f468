"""secrets-user-scoped-to-vault-or-secret: secret reads are never granted on a group or wider."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from policies.azure_ids import scope_kind
from policies.roles import KEY_VAULT_SECRETS_USER, role_id_of
from policies.support import NOT_KNOWN, ROLE_ASSIGNMENT, Outcome, Resource, resource_policy


def check(resource: Resource, config: Mapping[str, Any]) -> Outcome:
    """A 'Key Vault Secrets User' assignment's scope is a vault or a secret."""
    out = Outcome()
    role = out.read(resource.props, "roleDefinitionId")
    if role is NOT_KNOWN or not isinstance(role, str) or role_id_of(role) != KEY_VAULT_SECRETS_USER:
        return out
    scope = out.read(resource.props, "scope")
    if scope is NOT_KNOWN:
        return out
    kind = scope_kind(str(scope or ""))
    if kind not in ("vault", "secret"):
        out.fail(
            f"scope is a {kind} ({scope!r}); 'Key Vault Secrets User' must be scoped to a vault "
            "or, better, to the secret"
        )
    return out


POLICY = resource_policy(
    "secrets-user-scoped-to-vault-or-secret",
    "'Key Vault Secrets User' is granted on a vault or a secret, never a resource group or wider.",
    types=[ROLE_ASSIGNMENT],
    rule=check,
    remediation="Set the role assignment's scope to the secret's resource ID (.../secrets/<name>).",
)
