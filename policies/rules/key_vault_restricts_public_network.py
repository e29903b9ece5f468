"""key-vault-restricts-public-network: a public vault is fenced by its firewall (advisory).

In a stack without a private network, a vault reachable from any network (public access not
Disabled, and network ACLs that do not default to Deny or that admit the whole internet) is
advisory: the key is still behind RBAC. In a private stack
``private-services-disable-public-access`` makes the same demand mandatory.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pulumi_policy import EnforcementLevel

from policies.azure_ids import is_internet_wide
from policies.network import is_private_stack
from policies.support import (
    NOT_KNOWN,
    VAULT,
    Controls,
    Outcome,
    StackResource,
    shown,
    stack_policy,
)


def check(resources: list[StackResource], config: Mapping[str, Any]) -> Outcome:
    """Each vault of a public stack: public access Disabled, or ACLs that default to Deny."""
    out = Outcome()
    if is_private_stack(resources):
        return out
    for vault in (r for r in resources if r.type == VAULT):
        access = out.read(vault.props, "properties", "publicNetworkAccess")
        action = out.read(vault.props, "properties", "networkAcls", "defaultAction")
        rules = out.read(vault.props, "properties", "networkAcls", "ipRules")
        if NOT_KNOWN in (access, action, rules):
            continue
        wide = isinstance(rules, list) and any(
            isinstance(r, dict) and isinstance(r.get("value"), str) and is_internet_wide(r["value"])
            for r in rules
        )
        if access != "Disabled" and (action != "Deny" or wide):
            out.fail(
                f"{vault.name!r}: properties.publicNetworkAccess is {shown(access)} and "
                f"networkAcls.defaultAction is {shown(action)}; the vault is reachable from any "
                "network",
                vault.urn,
            )
    return out


POLICY = stack_policy(
    "key-vault-restricts-public-network",
    "A Key Vault in a public stack restricts callers with its firewall.",
    rule=check,
    enforcement=EnforcementLevel.ADVISORY,
    controls=Controls(
        azure_policy=("405c5871", "55615ac9"),
        checkov=("CKV_AZURE_109", "CKV_AZURE_189"),
        psrule=("Azure.KeyVault.Firewall",),
    ),
    remediation=(
        "Set properties.networkAcls.defaultAction='Deny' with bypass 'AzureServices' and the "
        "callers' ipRules, or reach the vault through a private endpoint."
    ),
)
