"""web-app-uses-managed-identity: the app has an identity, its only credential."""

from __future__ import annotations

from policies.support import (
    WEB_APPS,
    Controls,
    require_managed_identity,
    resource_policy,
)

# The same demand as every other managed-identity policy.
check = require_managed_identity


POLICY = resource_policy(
    "web-app-uses-managed-identity",
    "Web apps (and function apps, and their slots) have a managed identity.",
    types=WEB_APPS,
    rule=check,
    controls=Controls(
        azure_policy=("2b9ad585",),
        checkov=("CKV_AZURE_71",),
        psrule=("Azure.AppService.ManagedIdentity",),
    ),
    remediation="Set identity={'type': 'SystemAssigned'}.",
)
