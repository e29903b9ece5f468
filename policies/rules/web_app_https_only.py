"""web-app-https-only: plain HTTP is redirected to HTTPS."""

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


def check(resource: Resource, config: Mapping[str, Any]) -> Outcome:
    """httpsOnly explicitly true."""
    out = Outcome()
    https_only = out.read(resource.props, "httpsOnly")
    if https_only is not NOT_KNOWN and https_only is not True:
        out.fail(f"httpsOnly is {shown(https_only)}; it must be true")
    return out


POLICY = resource_policy(
    "web-app-https-only",
    "Web apps accept HTTPS only.",
    types=WEB_APPS,
    rule=check,
    controls=Controls(
        azure_policy=("a4af4a39",), checkov=("CKV_AZURE_14",), psrule=("Azure.AppService.UseHTTPS",)
    ),
    remediation="Set httpsOnly=true.",
)
