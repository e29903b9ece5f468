"""ai-account-has-private-endpoint: in a private stack, the AI account sits behind an endpoint.

Its endpoint connects to the ``account`` sub-resource and carries a DNS zone group for the zones
the account's host names resolve through (``privatelink.openai.azure.com``; for AIServices also
the Cognitive Services and AI services zones), so apps in the VNet resolve its private address.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from policies.network import is_private_stack, missing_private_endpoints
from policies.support import AI_ACCOUNT, Controls, Outcome, StackResource, stack_policy


def check(resources: list[StackResource], config: Mapping[str, Any]) -> Outcome:
    """Every AI account of a private stack has a private endpoint with its DNS zone group."""
    out = Outcome()
    if is_private_stack(resources):
        missing_private_endpoints(resources, AI_ACCOUNT, out)
    return out


POLICY = stack_policy(
    "ai-account-has-private-endpoint",
    "In a private network, Azure AI accounts are reached through a private endpoint.",
    rule=check,
    controls=Controls(azure_policy=("d6759c02",), psrule=("Azure.AI.PrivateEndpoints",)),
    remediation=(
        "Add a network.PrivateEndpoint with groupIds ['account'] to the account and a "
        "PrivateDnsZoneGroup for its privatelink zones (networkMode: private does both)."
    ),
)
