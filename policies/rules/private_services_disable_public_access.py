"""private-services-disable-public-access: in a private stack, no public door stays open.

The AI account and the vault set ``publicNetworkAccess: Disabled`` and network ACLs whose default
action is Deny: a private endpoint beside an open public endpoint keeps nothing off the internet.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from policies.network import is_private_stack, public_access_left_open
from policies.support import Controls, Outcome, StackResource, stack_policy


def check(resources: list[StackResource], config: Mapping[str, Any]) -> Outcome:
    """Accounts and vaults of a private stack: public access Disabled, ACLs Deny."""
    out = Outcome()
    if is_private_stack(resources):
        public_access_left_open(resources, out)
    return out


POLICY = stack_policy(
    "private-services-disable-public-access",
    "In a private network, AI accounts and Key Vaults disable public network access.",
    rule=check,
    controls=Controls(
        azure_policy=("037eea7a", "405c5871", "55615ac9"),
        checkov=("CKV_AZURE_134", "CKV_AZURE_189", "CKV_AZURE_109"),
        psrule=("Azure.AI.PublicAccess", "Azure.KeyVault.Firewall"),
    ),
    remediation=(
        "Set properties.publicNetworkAccess='Disabled' and properties.networkAcls.defaultAction="
        "'Deny' on the account and the vault, and drop allowedIpRanges."
    ),
)
