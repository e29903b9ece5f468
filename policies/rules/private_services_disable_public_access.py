"""private-services-disable-public-access: in a private stack, no public door stays open.

The AI account and the vault set ``publicNetworkAccess: Disabled`` and network ACLs whose default
action is Deny: a private endpoint beside an open public endpoint keeps nothing off the internet.
A storage account (the hosted rotation's) sets ``publicNetworkAccess: Disabled``, or a firewall
that denies by default with no IP or subnet rule, so only trusted Azure services with their own
identity pass (Event Grid delivers dead letters over no private endpoint).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from policies.network import is_private_stack, public_access_left_open, storage_left_open
from policies.support import Controls, Outcome, StackResource, stack_policy


def check(resources: list[StackResource], config: Mapping[str, Any]) -> Outcome:
    """Accounts and vaults of a private stack: public access Disabled, ACLs Deny; storage shut."""
    out = Outcome()
    if is_private_stack(resources):
        public_access_left_open(resources, out)
        storage_left_open(resources, out)
    return out


POLICY = stack_policy(
    "private-services-disable-public-access",
    "In a private network, AI accounts, Key Vaults and storage accounts take no public traffic.",
    rule=check,
    controls=Controls(
        azure_policy=("037eea7a", "405c5871", "55615ac9", "34c877ad"),
        checkov=("CKV_AZURE_134", "CKV_AZURE_189", "CKV_AZURE_109", "CKV_AZURE_35"),
        psrule=("Azure.AI.PublicAccess", "Azure.KeyVault.Firewall", "Azure.Storage.Firewall"),
    ),
    remediation=(
        "Set properties.publicNetworkAccess='Disabled' and properties.networkAcls.defaultAction="
        "'Deny' on the account and the vault, and drop allowedIpRanges; on a storage account set "
        "publicNetworkAccess='Disabled', or networkRuleSet.defaultAction='Deny' with no ipRules "
        "or virtualNetworkRules."
    ),
)
