"""key-vault-has-private-endpoint: in a private stack, the vault sits behind a private endpoint.

Its endpoint connects to the ``vault`` sub-resource and carries a DNS zone group for
``privatelink.vaultcore.azure.net``: App Service resolves Key Vault references through it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from policies.network import is_private_stack, missing_private_endpoints
from policies.support import VAULT, Controls, Outcome, StackResource, stack_policy


def check(resources: list[StackResource], config: Mapping[str, Any]) -> Outcome:
    """Every vault of a private stack has a private endpoint with its DNS zone group."""
    out = Outcome()
    if is_private_stack(resources):
        missing_private_endpoints(resources, VAULT, out)
    return out


POLICY = stack_policy(
    "key-vault-has-private-endpoint",
    "In a private network, Key Vaults are reached through a private endpoint.",
    rule=check,
    controls=Controls(azure_policy=("a6abeaec",), checkov=("CKV2_AZURE_32",)),
    remediation=(
        "Add a network.PrivateEndpoint with groupIds ['vault'] to the vault and a "
        "PrivateDnsZoneGroup for privatelink.vaultcore.azure.net (networkMode: private does both)."
    ),
)
