"""ai-account-has-custom-subdomain: the account has its own endpoint name, needed for Entra auth."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from policies.support import AI_ACCOUNT, NOT_KNOWN, Outcome, Resource, resource_policy, shown


def check(resource: Resource, config: Mapping[str, Any]) -> Outcome:
    """properties.customSubDomainName a non-empty string."""
    out = Outcome()
    subdomain = out.read(resource.props, "properties", "customSubDomainName")
    if subdomain is not NOT_KNOWN and not (isinstance(subdomain, str) and subdomain.strip()):
        out.fail(f"properties.customSubDomainName is {shown(subdomain)}; set a custom subdomain")
    return out


POLICY = resource_policy(
    "ai-account-has-custom-subdomain",
    "Azure AI accounts have a custom subdomain (required for Entra ID auth and network rules).",
    types=[AI_ACCOUNT],
    rule=check,
    remediation="Set properties.customSubDomainName to a globally unique name.",
)
