"""web-app-uses-managed-identity: the app has an identity, its only credential."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from policies.support import (
    NOT_KNOWN,
    WEB_APPS,
    Controls,
    Outcome,
    Resource,
    resource_policy,
    shown,
)


def check(resource: Resource, config: Mapping[str, Any]) -> Outcome:
    """identity.type names a system- or user-assigned identity."""
    out = Outcome()
    kind = out.read(resource.props, "identity", "type")
    if kind is NOT_KNOWN:
        return out
    kinds = {part.strip().lower() for part in kind.split(",")} if isinstance(kind, str) else set()
    if not kinds & {"systemassigned", "userassigned"}:
        out.fail(f"identity.type is {shown(kind)}; it must be SystemAssigned or UserAssigned")
    return out


POLICY = resource_policy(
    "web-app-uses-managed-identity",
    "Web apps (and function apps, and their slots) have a managed identity.",
    types=WEB_APPS,
    rule=check,
    controls=Controls(azure_policy=("2b9ad585",), checkov=("CKV_AZURE_71",)),
    remediation="Set identity={'type': 'SystemAssigned'}.",
)
