"""app-identity-roles-least-privilege: an app's identity never gets a role that manages access.

Owner, Contributor, User Access Administrator, Key Vault Administrator, Key Vault Secrets Officer
and Cognitive Services Contributor each let the holder read or regenerate keys, or grant access
(policies.roles.TOO_WIDE_FOR_AN_APP). The deployer may hold them; an app identity may not (see
policies.identities for how an app identity is recognised).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from policies.identities import app_identities, grantee, role_assignments
from policies.roles import TOO_WIDE_FOR_AN_APP, role_id_of, role_name
from policies.support import Outcome, StackResource, is_unknown, stack_policy


def check(resources: list[StackResource], config: Mapping[str, Any]) -> Outcome:
    """No assignment to an app identity uses a role from the too-wide list."""
    out = Outcome()
    owners = app_identities(resources)
    for assignment in role_assignments(resources):
        role = assignment.props.get("roleDefinitionId")
        if is_unknown(role):
            out.cannot_check((assignment.name, "roleDefinitionId"))
            continue
        if not isinstance(role, str) or role_id_of(role) not in TOO_WIDE_FOR_AN_APP:
            continue
        owner = grantee(assignment, owners, out)
        if owner is not None:
            out.fail(
                f"roleDefinitionId grants {role_name(role)!r} to the identity of {owner.name!r}; "
                "an app identity gets only the data role it needs",
                assignment.urn,
            )
    return out


POLICY = stack_policy(
    "app-identity-roles-least-privilege",
    "App identities never hold Owner, Contributor, User Access Administrator, Key Vault "
    "Administrator, Key Vault Secrets Officer or Cognitive Services Contributor.",
    rule=check,
    remediation=(
        "Grant the app 'Key Vault Secrets User' on its secret (key mode) or 'Cognitive Services "
        "OpenAI User' on the account (keyless); keep management roles for the deployer."
    ),
)
