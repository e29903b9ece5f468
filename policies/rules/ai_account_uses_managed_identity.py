"""ai-account-uses-managed-identity: the AI account has its own identity for what it calls."""

from __future__ import annotations

from policies.support import (
    AI_ACCOUNT,
    Controls,
    require_managed_identity,
    resource_policy,
)

# The same demand as every other managed-identity policy.
check = require_managed_identity


POLICY = resource_policy(
    "ai-account-uses-managed-identity",
    "Azure AI accounts have a managed identity (for customer-managed keys and outbound calls).",
    types=[AI_ACCOUNT],
    rule=check,
    controls=Controls(azure_policy=("fe3fd216",), checkov=("CKV_AZURE_238",)),
    remediation="Set identity={'type': 'SystemAssigned'} on the account.",
)
