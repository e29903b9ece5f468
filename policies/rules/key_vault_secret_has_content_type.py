"""key-vault-secret-has-content-type: every secret says what it holds."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from policies.contract.secret import CONTENT_TYPE
from policies.support import NOT_KNOWN, SECRET, Controls, Outcome, Resource, resource_policy, shown


def check(resource: Resource, config: Mapping[str, Any]) -> Outcome:
    """properties.contentType a non-empty string."""
    out = Outcome()
    content_type = out.read(resource.props, "properties", "contentType")
    given = isinstance(content_type, str) and content_type.strip()
    if content_type is not NOT_KNOWN and not given:
        out.fail(f"properties.contentType is {shown(content_type)}; set a content type")
    return out


POLICY = resource_policy(
    "key-vault-secret-has-content-type",
    "Key Vault secrets have a content type.",
    types=[SECRET],
    rule=check,
    controls=Controls(azure_policy=("75262d3e",), checkov=("CKV_AZURE_114",)),
    remediation=f"Set properties.contentType, e.g. {CONTENT_TYPE!r} for the AI account's key.",
)
