"""key-vault-has-soft-delete: deleted secrets stay recoverable for the whole retention period."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from policies.support import NOT_KNOWN, VAULT, Controls, Outcome, Resource, resource_policy, shown

DEFAULT_MINIMUM_RETENTION_DAYS = 90


def check(resource: Resource, config: Mapping[str, Any]) -> Outcome:
    """Soft delete not turned off, and a retention of at least the configured number of days."""
    out = Outcome()
    minimum = int(config.get("minimumRetentionDays", DEFAULT_MINIMUM_RETENTION_DAYS))
    enabled = out.read(resource.props, "properties", "enableSoftDelete")
    if enabled is not NOT_KNOWN and enabled is False:
        out.fail("properties.enableSoftDelete is false; it must be true")
    days = out.read(resource.props, "properties", "softDeleteRetentionInDays")
    if days is not NOT_KNOWN and (not isinstance(days, int | float) or days < minimum):
        out.fail(
            f"properties.softDeleteRetentionInDays is {shown(days)}; it must be at least {minimum}"
        )
    return out


POLICY = resource_policy(
    "key-vault-has-soft-delete",
    "Key Vaults keep soft delete on with an explicit retention period.",
    types=[VAULT],
    rule=check,
    controls=Controls(
        azure_policy=("1e66c121",),
        checkov=("CKV_AZURE_111", "CKV_AZURE_42"),
        psrule=("Azure.KeyVault.SoftDelete",),
    ),
    remediation="Set properties.enableSoftDelete=true and properties.softDeleteRetentionInDays=90.",
    config={
        "minimumRetentionDays": {
            "type": "integer",
            "minimum": 7,
            "maximum": 90,
            "default": DEFAULT_MINIMUM_RETENTION_DAYS,
            "description": "Smallest accepted softDeleteRetentionInDays.",
        }
    },
)
