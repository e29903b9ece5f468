"""web-app-routes-outbound-through-vnet: in a private stack, apps call out through the VNet.

Each app joins a subnet (regional VNet integration, ``virtualNetworkSubnetId``) and routes all
outbound traffic into it (``outboundVnetRouting.applicationTraffic``, which web API 2025-05-01
documents as "previously called VnetRouteAllEnabled"; the older ``siteConfig.vnetRouteAllEnabled``
counts too): Key Vault references and AI calls then resolve and reach the private endpoints.
No Checkov or PSRule rule checks this.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from policies.network import apps_outside_the_network, is_private_stack
from policies.support import Controls, Outcome, StackResource, stack_policy


def check(resources: list[StackResource], config: Mapping[str, Any]) -> Outcome:
    """Every web app of a private stack is VNet-integrated with all outbound traffic routed."""
    out = Outcome()
    if is_private_stack(resources):
        apps_outside_the_network(resources, out)
    return out


POLICY = stack_policy(
    "web-app-routes-outbound-through-vnet",
    "In a private network, web apps are VNet-integrated and route all outbound traffic into it.",
    rule=check,
    controls=Controls(azure_policy=("72d04c29", "a691eacb", "32a913ec")),
    remediation=(
        "Set virtualNetworkSubnetId to a subnet delegated to Microsoft.Web/serverFarms and "
        "outboundVnetRouting.applicationTraffic=true on each app."
    ),
)
