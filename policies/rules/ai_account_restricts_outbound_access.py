"""ai-account-restricts-outbound-access: the account calls out only to what it is allowed.

``properties.restrictOutboundNetworkAccess: true`` (with ``allowedFqdnList`` for the hosts it
needs) keeps a compromised or misconfigured account from sending data anywhere (Checkov
CKV_AZURE_247).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

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
    """``properties.restrictOutboundNetworkAccess`` is true."""
    out = Outcome()
    value = out.read(resource.props, "properties", "restrictOutboundNetworkAccess")
    if value is not NOT_KNOWN and value is not True:
        out.fail(
            f"properties.restrictOutboundNetworkAccess is {shown(value)}; the account may call "
            "any host"
        )
    return out


POLICY = resource_policy(
    "ai-account-restricts-outbound-access",
    "Azure AI accounts restrict outbound network access.",
    types=[AI_ACCOUNT],
    rule=check,
    controls=Controls(checkov=("CKV_AZURE_247",)),
    remediation=(
        "Set properties.restrictOutboundNetworkAccess=true and list the hosts the account must "
        "reach in properties.allowedFqdnList."
    ),
)
