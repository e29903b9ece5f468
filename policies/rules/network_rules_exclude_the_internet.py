"""network-rules-exclude-the-internet: an IP rule never lets the whole internet in.

``defaultAction: Deny`` with an IP rule of ``0.0.0.0/0`` (or ``::/0``, or any block wider than
a /8, or ``*``) is an open door that looks closed. Applies to the network ACLs of AI accounts
and Key Vaults, whose ``ipRules`` take ``{value: <address or CIDR>}``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from policies.azure_ids import is_internet_wide
from policies.support import (
    AI_ACCOUNT,
    NOT_KNOWN,
    VAULT,
    Controls,
    Outcome,
    Resource,
    resource_policy,
)


def wide_rules(resource: Resource, out: Outcome) -> list[tuple[int, str]]:
    """(index, value) of each internet-wide IP rule in ``properties.networkAcls.ipRules``."""
    rules = out.read(resource.props, "properties", "networkAcls", "ipRules")
    if rules is NOT_KNOWN or not isinstance(rules, list):
        return []
    found = []
    for index in range(len(rules)):
        value = out.read(rules, index, "value")
        if isinstance(value, str) and value is not NOT_KNOWN and is_internet_wide(value):
            found.append((index, value))
    return found


def check(resource: Resource, config: Mapping[str, Any]) -> Outcome:
    """No IP rule of the account's or vault's network ACLs is internet-wide."""
    out = Outcome()
    for index, value in wide_rules(resource, out):
        out.fail(
            f"properties.networkAcls.ipRules[{index}].value is {value!r}: it admits the whole "
            "internet, whatever defaultAction says"
        )
    return out


POLICY = resource_policy(
    "network-rules-exclude-the-internet",
    "Network ACL IP rules of AI accounts and Key Vaults never admit the whole internet "
    "(0.0.0.0/0, ::/0, blocks wider than /8, *).",
    types=[AI_ACCOUNT, VAULT],
    rule=check,
    controls=Controls(
        azure_policy=("037eea7a", "55615ac9"),
        checkov=("CKV_AZURE_134", "CKV_AZURE_109"),
        psrule=("Azure.AI.PublicAccess", "Azure.KeyVault.Firewall"),
    ),
    remediation=(
        "List the callers' own addresses or ranges in ipRules, or reach the service through a "
        "private endpoint and set publicNetworkAccess='Disabled'."
    ),
)
