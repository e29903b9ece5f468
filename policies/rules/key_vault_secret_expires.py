"""key-vault-secret-expires: every secret carries an expiry, which also drives rotation."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from policies.support import NOT_KNOWN, SECRET, Controls, Outcome, Resource, resource_policy, shown


def check(resource: Resource, config: Mapping[str, Any]) -> Outcome:
    """properties.attributes.expires set to a number of seconds since the epoch."""
    out = Outcome()
    expires = out.read(resource.props, "properties", "attributes", "expires")
    if expires is not NOT_KNOWN and (
        isinstance(expires, bool) or not isinstance(expires, int | float) or expires <= 0
    ):
        out.fail(f"properties.attributes.expires is {shown(expires)}; set an expiry date")
    return out


POLICY = resource_policy(
    "key-vault-secret-expires",
    "Key Vault secrets have an expiration date.",
    types=[SECRET],
    rule=check,
    controls=Controls(azure_policy=("98728c90",), checkov=("CKV_AZURE_41",)),
    remediation=(
        "Set properties.attributes.expires (seconds since 1970-01-01 UTC), e.g. now + the "
        "rotation period."
    ),
)
