"""web-app-requires-tls-1-2: the site and its SCM (Kudu) endpoint refuse TLS older than 1.2."""

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
    shown,
)

MINIMUM = (1, 2)
TLS_SETTINGS = ("minTlsVersion", "scmMinTlsVersion")


def _version(value: Any) -> tuple[int, ...] | None:
    if not isinstance(value, str):
        return None
    try:
        return tuple(int(part) for part in value.split("."))
    except ValueError:
        return None


def check(resource: Resource, config: Mapping[str, Any]) -> Outcome:
    """siteConfig.minTlsVersion and siteConfig.scmMinTlsVersion set to 1.2 or later."""
    out = Outcome()
    for setting in TLS_SETTINGS:
        value = out.read(resource.props, "siteConfig", setting)
        if value is NOT_KNOWN:
            continue
        version = _version(value)
        if version is None or version < MINIMUM:
            out.fail(f"siteConfig.{setting} is {shown(value)}; it must be 1.2 or later")
    return out


POLICY = resource_policy(
    "web-app-requires-tls-1-2",
    "Web apps require TLS 1.2 or later on the site and on its SCM endpoint.",
    types=WEB_APPS,
    rule=check,
    controls=Controls(
        azure_policy=("f0e6e85b",), checkov=("CKV_AZURE_15",), psrule=("Azure.AppService.MinTLS",)
    ),
    remediation="Set siteConfig.minTlsVersion='1.2' and siteConfig.scmMinTlsVersion='1.2'.",
)
