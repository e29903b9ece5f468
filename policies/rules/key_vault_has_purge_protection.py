"""key-vault-has-purge-protection: nobody can purge a deleted secret before its retention ends."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from policies.support import NOT_KNOWN, VAULT, Controls, Outcome, Resource, resource_policy, shown


def check(resource: Resource, config: Mapping[str, Any]) -> Outcome:
    """Purge protection explicitly on."""
    out = Outcome()
    value = out.read(resource.props, "properties", "enablePurgeProtection")
    if value is not NOT_KNOWN and value is not True:
        out.fail(f"properties.enablePurgeProtection is {shown(value)}; it must be true")
    return out


POLICY = resource_policy(
    "key-vault-has-purge-protection",
    "Key Vaults have purge protection enabled.",
    types=[VAULT],
    rule=check,
    controls=Controls(
        azure_policy=("0b60c0b2",),
        checkov=("CKV_AZURE_110",),
        psrule=("Azure.KeyVault.PurgeProtect",),
    ),
    remediation="Set properties.enablePurgeProtection=true (it cannot be turned off afterwards).",
)
