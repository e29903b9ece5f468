"""key-vault-uses-rbac: the vault authorises with Azure RBAC and holds no access policies."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from policies.support import NOT_KNOWN, VAULT, Controls, Outcome, Resource, resource_policy, shown


def check(resource: Resource, config: Mapping[str, Any]) -> Outcome:
    """RBAC permission model on (explicitly), and not one access policy."""
    out = Outcome()
    rbac = out.read(resource.props, "properties", "enableRbacAuthorization")
    if rbac is not NOT_KNOWN and rbac is not True:
        out.fail(f"properties.enableRbacAuthorization is {shown(rbac)}; it must be true")
    access_policies = out.read(resource.props, "properties", "accessPolicies")
    if access_policies is not NOT_KNOWN and access_policies not in (None, []):
        count = f"{len(access_policies)} entries" if isinstance(access_policies, list) else "set"
        out.fail(
            f"properties.accessPolicies has {count}; it must be empty "
            "(grant access with role assignments)"
        )
    return out


POLICY = resource_policy(
    "key-vault-uses-rbac",
    "Key Vaults use the Azure RBAC permission model and have no access policies.",
    types=[VAULT],
    rule=check,
    controls=Controls(azure_policy=("12d4fa5e",), psrule=("Azure.KeyVault.RBAC",)),
    remediation=(
        "Set properties.enableRbacAuthorization=true, remove properties.accessPolicies, and grant "
        "'Key Vault Secrets User' on the one secret each identity reads."
    ),
)
