"""ai-account-restricts-public-network: a public endpoint is fenced by network rules (advisory)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pulumi_policy import EnforcementLevel

from policies.rules.network_rules_exclude_the_internet import wide_rules
from policies.support import (
    AI_ACCOUNT,
    NOT_KNOWN,
    Controls,
    Outcome,
    Resource,
    resource_policy,
    shown,
)


def check(resource: Resource, config: Mapping[str, Any]) -> Outcome:
    """Public network access Disabled, or network ACLs whose default action is Deny."""
    out = Outcome()
    access = out.read(resource.props, "properties", "publicNetworkAccess")
    if access is NOT_KNOWN or access == "Disabled":
        return out
    default_action = out.read(resource.props, "properties", "networkAcls", "defaultAction")
    if default_action is not NOT_KNOWN and default_action != "Deny":
        out.fail(
            f"properties.publicNetworkAccess is {shown(access)} and "
            f"properties.networkAcls.defaultAction is {shown(default_action)}; the account is "
            "reachable from any network"
        )
    elif default_action == "Deny" and wide_rules(resource, out):
        # Deny with a 0.0.0.0/0 rule only looks closed.
        out.fail(
            "properties.networkAcls.defaultAction is 'Deny' but an IP rule admits the whole "
            "internet; the account is reachable from any network"
        )
    return out


POLICY = resource_policy(
    "ai-account-restricts-public-network",
    "Azure AI accounts reachable publicly restrict callers with network ACLs.",
    types=[AI_ACCOUNT],
    rule=check,
    enforcement=EnforcementLevel.ADVISORY,
    controls=Controls(
        azure_policy=("037eea7a",), checkov=("CKV_AZURE_134",), psrule=("Azure.AI.PublicAccess",)
    ),
    remediation=(
        "Set properties.publicNetworkAccess='Disabled' (private endpoint), or "
        "properties.networkAcls.defaultAction='Deny' with ipRules for the callers."
    ),
)
