"""key-vault-disables-platform-access: VMs, ARM deployments, disk encryption read no secret."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from policies.support import NOT_KNOWN, VAULT, Outcome, Resource, resource_policy, shown

PLATFORM_ACCESS_FLAGS = (
    "enabledForDeployment",
    "enabledForTemplateDeployment",
    "enabledForDiskEncryption",
)


def check(resource: Resource, config: Mapping[str, Any]) -> Outcome:
    """Each enabledFor* flag false or absent (Azure's default is false)."""
    out = Outcome()
    for flag in PLATFORM_ACCESS_FLAGS:
        value = out.read(resource.props, "properties", flag)
        if value is not NOT_KNOWN and value not in (None, False):
            out.fail(f"properties.{flag} is {shown(value)}; it must be false")
    return out


POLICY = resource_policy(
    "key-vault-disables-platform-access",
    "Key Vaults do not let VMs, ARM template deployments or disk encryption read their secrets.",
    types=[VAULT],
    rule=check,
    remediation=(
        "Set properties.enabledForDeployment, enabledForTemplateDeployment and "
        "enabledForDiskEncryption to false."
    ),
)
