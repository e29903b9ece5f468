"""web-app-cors-names-its-origins: CORS never allows every origin.

``siteConfig.cors.allowedOrigins`` containing ``*`` lets any web page call the app from a
visitor's browser (and with ``supportCredentials`` send their cookies).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from policies.support import (
    NOT_KNOWN,
    WEB_APPS,
    Controls,
    Outcome,
    Resource,
    resource_policy,
)


def check(resource: Resource, config: Mapping[str, Any]) -> Outcome:
    """No ``*`` among ``siteConfig.cors.allowedOrigins``."""
    out = Outcome()
    origins = out.read(resource.props, "siteConfig", "cors", "allowedOrigins")
    if origins is NOT_KNOWN or not isinstance(origins, list):
        return out
    for index in range(len(origins)):
        origin = out.read(origins, index)
        if isinstance(origin, str) and origin is not NOT_KNOWN and origin.strip() == "*":
            out.fail(
                f"siteConfig.cors.allowedOrigins[{index}] is '*': any web page may call the app"
            )
    return out


POLICY = resource_policy(
    "web-app-cors-names-its-origins",
    "Web apps name the origins CORS allows; never '*'.",
    types=WEB_APPS,
    rule=check,
    controls=Controls(azure_policy=("5744710e",), checkov=("CKV_AZURE_57",)),
    remediation="List the exact origins (https://app.example.com) in siteConfig.cors.",
)
